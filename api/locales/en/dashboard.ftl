# dashboard
list-works-title = Works
list-works-intro = Every work you registered. A title opens the work's seal page.
list-works-empty = No works yet. Register your first one on the dashboard.
list-licences-title = Licences
list-licences-intro = Every licence, with its scope, price and status.
list-licences-empty = No licences yet.
list-invoices-title = Invoices
list-invoices-intro = Invoices issued at settlement, as PDF.
list-invoices-empty = No invoices yet; they are issued at settlement.
list-no-match = Nothing matches.
list-search-placeholder = Title, author, number…
list-sort = Sort
list-status = Status
list-all-statuses = All statuses
list-pages = Pages
list-col-title = Title
list-col-author = Author
list-col-registered = Registered
list-col-links = Links
list-col-work = Work
list-col-licensee = Licensee
list-col-holder = Rights holder
list-col-scope = Scope
list-col-price = Price
list-col-status = Status
list-col-date = Date
list-col-documents = Documents
list-col-number = Number
list-col-billed-to = Billed to
list-col-amount = Amount
list-col-issued = Issued
list-usage = Usage
list-letter = Letter
list-invoice-pdf = Invoice PDF
dash-channels = Channels
dash-channel = Channel
dash-channel-kind = Channel kind
dash-channel-handle = Domain or account
dash-channel-handle-placeholder = example.com or account name
dash-add-channel = Add channel
dash-no-channels = No channels yet. Add your website, WeChat official account, Weibo or blog.
dash-verified = Verified
dash-not-verified = Not verified yet
dash-work-count = { $n ->
    [one] { $n } work
   *[other] { $n } works
    }
dash-all-works = { $n ->
    [one] See the work
   *[other] See all { $n } works
    }
dash-all-licences = { $n ->
    [one] See the licence
   *[other] See all { $n } licences
    }
dash-all-invoices = { $n ->
    [one] See the invoice
   *[other] See all { $n } invoices
    }
dash-register-work = Register a work
dash-register = Register
dash-source-url = Source URL
dash-source-url-hint = (only on a verified channel)
dash-content = Text or HTML
dash-image = Image
dash-image-hint = (JPEG, PNG, WebP, GIF; up to 12 MB)
dash-register-hint = Give the text, an image or both: both are stored and fingerprinted for monitoring.
dash-registered = “{ $title }” is registered.
dash-registered-next = The registration is time-stamped and written to the transparency log. Embed the seal where you publish it, and readers can see who owns it and take a licence.
dash-open-seal-page = Open the seal page
dash-registration-proof = Registration proof
dash-offers = Offers
dash-no-offers = No offers yet.
dash-offers-hint = Offers are set per channel: open a channel and add them in step 2.
dash-licences-granted = Licences granted
dash-my-licences = My licences
dash-held-until = Held until { $date }
dash-letter-jws = Letter (JWS)
dash-letter-jws-title = The signed letter, for machines to verify
dash-refund-request = Request a refund
dash-refund-explain = Refunds can be requested during the publicity period. The payment is frozen and a platform reviewer decides.
dash-refund-reason = Why
dash-refund-confirm = Request the refund
dash-no-pdf-font = This server has no CJK font, so PDFs cannot be downloaded for now.
dash-earn-currency = Currency
dash-earn-gross = Sales
dash-earn-fee = Platform fee
dash-earn-net = Net
dash-earn-held = In escrow
dash-earn-held-until = first release { $date }
dash-earn-settled = Settled, not paid yet
dash-earn-paid = Paid out
dash-earn-licences = Licences
dash-earn-none = No paid licences yet.
dash-earn-explain = Sales are what buyers paid (refunds excluded); less the platform fee, that is your net. The net is held in escrow through the publicity period, then settled and paid out. Each currency is counted on its own, never added to another.
dash-chart-licences = Licences per day (30 days)
dash-chart-revenue = Sales per day, { $currency } (30 days)
dash-seal-setup = Seal setup
dash-step-1 = Step 1 · Prove ownership
dash-step-2 = Step 2 · Pick offers
dash-step-3 = Step 3 · Copy the embed code
dash-verify-meta = Add this to your home page's <head>:
dash-verify-file = or serve a file containing only the token at:
dash-verify-now = Verify now
dash-verify-review = Sent for review: put the token in the account's profile; a reviewer will confirm it.
dash-verify-unreachable = Not verified yet: neither the home page nor the verification file could be fetched.
dash-verify-no-token = Not verified yet: the home page has no verification meta tag with the token in its <head>, and the verification file does not hold it.
dash-preset = Offer preset
dash-preset-free = Free with attribution
dash-preset-standard = Standard reprint, per use
dash-preset-commercial = Commercial use
dash-price-placeholder = Price, e.g. 50.00
dash-add-offer = Add offer
dash-embed-hint = Paste into your page template once; it covers everything you publish here.
dash-run-by-schedule = Schedule
admin-title = Administration
admin-settlement = Settlement
admin-settle-now = Settle and pay out now
admin-settle-explain = This settles every licence whose publicity period is over with no objection, and pays the rights holders. It cannot be undone.
admin-settle-confirm = Settle and pay out
admin-reason = Reason
admin-settled-report = { $licences ->
    [one] Settled 1 licence
   *[other] Settled { $licences } licences
    }, { $payouts ->
    [one] 1 payout.
   *[other] { $payouts } payouts.
    }
admin-run-time = Time
admin-run-by = Started by
admin-run-licences = Licences settled
admin-run-payouts = Payouts
admin-no-runs = No runs yet (a pass runs on a schedule).
admin-objections = Objections
admin-resolve = Resolve
admin-refund = Refund
admin-release = Release
admin-no-objections = No open objections.
admin-payouts = Payouts
admin-payout = Payout
admin-channel-reviews = Channel reviews
admin-token = Token
admin-approve = Approve
admin-approve-explain = Find the token in the account's profile or pinned post before you confirm ownership.
admin-approve-confirm = Confirm ownership
admin-nothing-to-review = Nothing to review.
sel-chosen = Chosen hits:
sel-case = Submit as cases
sel-legal = Legal
sel-illegal = Illegal
sel-unsure = Unsure
sel-not-mine = Not my work
dash-seal-image = Seal image
dash-seal-image-download = Download the seal image
dash-wechat-embed = For WeChat official accounts and Weibo
dash-wechat-embed-hint = WeChat articles and Weibo posts cannot run scripts: paste the seal image (with its QR code) and the short link at the end of the article. Readers scan it to see who owns the work and take a licence.
dash-embed-no-script = WeChat articles and Weibo posts cannot run scripts, so these channels use a seal image and a short link:
dash-embed-no-script-1 = Register each article on the dashboard (with its source URL).
dash-embed-no-script-2 = Download the work's seal image (with its QR code) from the confirmation or the works list.
dash-embed-no-script-3 = Paste the image and the short link at the end of the article; readers scan it to see who owns the work and take a licence online.
dash-under-review = Under review
dash-under-review-hint = A platform reviewer will look at the account's profile or pinned post; this then shows “Verified”.
dash-review-step-copy = Copy the token below.
dash-review-step-wechat = In the official account's admin, add the token to its introduction (profile), or publish an article that contains it.
dash-review-step-weibo = Add the token to the Weibo profile, or post it and pin the post.
dash-review-step-submit = Click “Submit for review”; the status reads “Under review” until a reviewer decides.
dash-review-submit = Submit for review
dash-review-again = The token is in place: remind the reviewer
dash-offer-withdrawn = withdrawn { $when }
dash-offer-edit = Change the price
dash-offer-save = Save the new price
dash-offer-edit-hint = The new price applies from now on; licences already sold keep the terms they were bought under.
dash-offer-withdraw = Withdraw the offer
dash-offer-withdraw-hint = Once withdrawn, nobody can buy a licence under this offer; licences already sold are not affected.
dash-offer-withdraw-confirm = Yes, withdraw it
dash-method-meta = by the meta tag on the home page
dash-method-file = by the verification file
dash-method-review = reviewed by the platform
dash-letter-pdf = Letter (PDF)
