# monitoring
# Monitoring (mon-): hits, allowlist, suspect sites and monitoring jobs.
mon-hits-title = Hits
mon-every-holder = every rights holder
mon-tabs-label = Colour
mon-tab-all = All
mon-tab-black = Unlicensed (black list)
mon-tab-white = Licensed (white list)
mon-work = Work
mon-work-id-placeholder = work id
mon-any = All
mon-domain = Domain
mon-kind = Kind
mon-kind-text = Text
mon-kind-image = Image
mon-filter = Filter
mon-clear = Clear
mon-col-holder = Holder
mon-col-page = Page
mon-col-copy = Copy
mon-col-score = Score
mon-col-first-seen = First seen
mon-col-last-seen = Last seen
mon-col-why = Why
mon-choose-hit = Choose this hit
mon-no-hits = No hits match.
mon-newest = ← Newest
mon-older = Older →
mon-hits-note = Licensed: a licence, the holder's own channel or the allowlist covers the page. Unlicensed: nothing does.
mon-copy-full = whole text
mon-copy-excerpt = excerpt
mon-copy-near-duplicate = near duplicate
mon-copy-whole = whole image
mon-copy-flipped = flipped image
mon-copy-rotated = rotated image
mon-copy-region = part of the image
mon-reason-licence = licence { $ref }
mon-reason-holder-channel = the holder's own channel { $ref }
mon-reason-own-channel = your own channel { $ref }
mon-reason-allowlist = allowlist: { $pattern }
mon-reason-allowlist-removed = allowlist entry { $ref } (since removed)
mon-reason-unlicensed = no licence

mon-allow-title = Allowlist
mon-allow-intro = Sites licensed outside the platform (offline contracts, partners): their hits count as licensed.
mon-allow-col-pattern = Domain, URL prefix or account
mon-allow-col-note = Note
mon-allow-col-added = Added
mon-allow-kind-domain = Domain
mon-allow-kind-prefix = URL prefix
mon-allow-empty = The allowlist is empty.
mon-allow-pattern-placeholder = partner.example.com, https://partner.example.com/reprints/, wechat:<article link or __biz>, weibo:<UID>
mon-allow-note-label = Note (contract number, partner)
mon-allow-added = { $n ->
    [one] Added; { $n } hit recoloured.
   *[other] Added; { $n } hits recoloured.
    }
mon-allow-removed = { $n ->
    [one] Removed; { $n } hit recoloured.
   *[other] Removed; { $n } hits recoloured.
    }
mon-add = Add
mon-remove = Remove

mon-jobs-title-admin = Monitoring jobs
mon-jobs-title-holder = Suspect sites
mon-job-col-job = Job
mon-job-col-by = Submitted by
mon-job-col-name = Name
mon-job-col-what = What
mon-job-col-status = Status
mon-job-col-runs = Runs
mon-job-col-next = Next run
mon-job-col-last = Last run
mon-job-col-counts = Pages / errors / hits
mon-job-running = running
mon-job-last-failed = Last run failed: { $error }
mon-job-status-pending = pending
mon-job-status-active = active
mon-job-status-paused = paused
mon-job-status-rejected = rejected
mon-job-once = once
mon-job-every-hours = { $n ->
    [one] every hour
   *[other] every { $n } hours
    }
mon-job-every-minutes = { $n ->
    [one] every minute
   *[other] every { $n } minutes
    }
mon-job-budget = at most { $pages } pages, depth { $depth }
mon-approve = Approve
mon-activate = Activate
mon-pause = Pause
mon-reject = Reject
mon-delete = Delete
mon-no-jobs = No jobs yet.
mon-nothing-submitted = Nothing submitted yet.
mon-job-new = New job
mon-job-name = Name
mon-job-seeds = Start pages (one per line)
mon-job-sitemaps = Sitemaps
mon-job-feeds = RSS/Atom feeds
mon-job-hosts = Hosts (empty = the hosts of the addresses above)
mon-job-path-prefixes = Path prefixes (such as /news/; empty = any)
mon-job-max-pages = Max pages
mon-job-max-depth = Max depth
mon-job-interval = Interval in hours, or “once”
mon-create = Create
mon-suspect-new = Submit a suspect site
mon-suspect-intro = An administrator reviews it; once approved the site is crawled once and its hits appear under Hits.
mon-suspect-name-placeholder = copycat news
mon-suspect-seeds = Start URLs (one per line)
mon-suspect-sitemap = Sitemap (optional)
mon-suspect-feed = RSS/Atom feed (optional)
mon-submit = Submit

mon-error-domain = The domain must be a host name such as example.com.
mon-error-limit = The page size must be 1 to { $max }.
mon-error-work-id = That is not a work id.
mon-error-colour = The colour must be white or black.
mon-error-kind = The kind must be text or image.
mon-error-before = The cursor must be a hit id (the previous page's next).
mon-error-pattern = “{ $input }” is neither a domain nor a web address prefix.
mon-error-note-long = The note must be at most 200 characters.
mon-error-note-text = The note holds characters that cannot be shown (control or direction marks).
mon-error-name-text = The name holds characters that cannot be shown (control or direction marks).
mon-error-suspect-once = A suspect site is checked once; an administrator schedules repeats.
mon-error-suspect-budget = A suspect site is checked with at most { $pages } pages and depth { $depth }.
mon-error-job-running = The job is running: pause it, and delete it when the run has ended.
mon-error-decision = The decision must be approve, pause or reject.
mon-error-max-pages-number = Max pages must be a whole number.
mon-error-max-depth-number = Max depth must be a whole number.
mon-error-interval = The interval is a number of hours (such as 24 or 0.5), or “once”.
mon-error-job-seeds = Start pages: { $reason }.
mon-error-job-sitemaps = Sitemaps: { $reason }.
mon-error-job-feeds = Feeds: { $reason }.
mon-error-job-max-pages = Max pages: { $reason }.
mon-error-job-max-depth = Max depth: { $reason }.
mon-error-job-hosts = Hosts: { $reason }.
mon-error-job-path-prefixes = Path prefixes: { $reason }.
mon-error-job-name = Name: { $reason }.
mon-error-job-interval = Interval: { $reason }.

# Analysis (an-): search, usage reports and a work's usage.
an-search-title = Search
an-every-org = every organisation
an-query-label = Query
an-query-placeholder = flood "flood report" NOT reprint
an-colour = Colour
an-from = From
an-to = To
an-month = Month
an-search-help = Quote phrases; AND, OR, NOT, +must and -exclude work.
an-facets = Refine
an-results = { $n ->
    [one] { $n } result
   *[other] { $n } results
    }
an-meta-score = score { $score }
an-meta-first = first seen { $time }
an-meta-last = last seen { $time }
an-meta-file = file { $file }
an-previous = ← Previous
an-next = Next →
an-error-bad-query = The query cannot be read: { $why }
an-error-date = “{ $input }” is not a date (YYYY-MM-DD).
an-error-range-order = “From” must be before “To”.
an-error-limit = The page size must be 1 to 100.
an-error-choice = { $field } must be one of { $allowed }, not “{ $value }”.
an-error-bucket = Group by day, week or month.
an-error-holder = That is not a rights holder id.
an-error-report-span = A report by { $bucket } covers too long a range; choose a larger bucket or a shorter range.

an-report-title = Usage report
an-by = By
an-bucket-day = day
an-bucket-week = week
an-bucket-month = month
an-update = Update
an-export-json = Export JSON
an-fig-uses = Uses
an-fig-licensed = Licensed
an-fig-unlicensed = Unlicensed
an-fig-new-sites = New sites
an-fig-recurring-sites = Recurring sites
an-summary-on = You receive the weekly summary by email.
an-unsubscribe = Unsubscribe
an-summary-off = A usage summary by email every week.
an-subscribe = Subscribe
an-report-note = A use is a copy seen during the range; the timeline counts each where it was first found. Days are counted in UTC. Hover over a chart for its numbers.
an-chart-new-uses-day = New uses per day
an-chart-new-uses-week = New uses per week
an-chart-new-uses-month = New uses per month
an-chart-share = Licensed vs unlicensed
an-chart-licensed = licensed
an-chart-unlicensed = unlicensed
an-chart-legend-licensed = Licensed (white list)
an-chart-legend-unlicensed = Unlicensed (black list)
an-chart-top-domains = Top domains
an-chart-top-works = Most used works
an-chart-new-sites = New copying sites ({ $n })
an-chart-recurring-sites = Recurring sites ({ $n })
an-chart-kinds = Text vs image
an-chart-no-data = No data

an-usage-title = Usage
an-usage-found = { $n ->
    [one] found { $n } time
   *[other] found { $n } times
    }
an-work-page = Work page
an-search-hits = Search its hits
an-usage-empty = Not found anywhere yet.
an-usage-note = The newest 200.
mon-error-pattern-app = An app has no web pages for monitoring to find, so it cannot be allowlisted; add its website's domain instead.
