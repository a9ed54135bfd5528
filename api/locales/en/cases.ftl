# Rights protection: the case list, one case, the infringer's settlement page, the settlement mail.
# Case states and offline routes
case-state-review = In review
case-state-needs_info = More information needed
case-state-rejected = Rejected
case-state-invited = Invited to settle
case-state-settled = Settled
case-state-expired = Expired
case-state-offline = Offline
case-state-closed = Closed
case-state-withdrawn = Withdrawn
case-track-mediation = Mediation
case-track-arbitration = Arbitration
case-track-litigation = Litigation
case-beijing-time = { $time } Beijing time (UTC+8)

# Charts
case-chart-by-state = Cases by state
case-chart-daily = Cases opened and settled per day (UTC)
case-chart-review = review
case-chart-needs_info = info
case-chart-invited = invited
case-chart-settled = settled
case-chart-expired = expired
case-chart-offline = offline
case-chart-closed = closed
case-chart-rejected = rejected
case-chart-withdrawn = withdrawn
case-chart-opened = opened

# The case list
case-list-title = Cases
case-list-admin = Platform review
case-list-empty = No cases here.
case-tabs-label = Filter by state
case-tab-all = All
case-tab-review = In review
case-tab-invited = Invited
case-tab-settled = Settled
case-tab-offline = Offline
case-tab-ended = Ended
case-stat-rate = Settlement rate
case-stat-recovered = Recovered
case-stat-median = Median time to settle
case-stat-days = { $days } days
case-stat-settled-decided = Settled / decided
case-protection-title = Automatic protection
case-protection-locked = Verify a channel, or ask the platform to confirm your identity, before opening cases: a false accusation harms a stranger.
case-protection-auto = Submit new unlicensed hits as cases automatically
case-protection-multiplier = Settlement multiplier (1–10×, disclosed to the infringer)
case-protection-days = Days to settle (3–90)
case-protection-fee-rule = The settlement fee is your cheapest published offer price times this multiplier.
case-protection-choose-hits = Choose unlicensed hits to submit as cases
case-identity-title = Confirm a rights holder's identity
case-identity-holder = Holder id
case-identity-confirm = Confirm
case-notice-saved = Settings saved.
case-notice-submitted = Submitted as cases; the platform reviews them next.
case-notice-confirmed = Identity confirmed.
case-col-case = Case
case-col-holder = Holder
case-col-work = Work
case-col-site = Site
case-col-state = State
case-col-fee = Fee
case-col-deadline = Deadline
case-col-opened = Opened
case-col-page = Page
case-col-kind = Kind
case-col-score = Score
case-col-colour = Colour
case-col-triage = Triage
case-col-capture = Capture
case-col-time = Time
case-col-log = Log
case-col-resources = Resources

# One case
case-title = Case { $id }
case-work-title = “{ $title }”
case-all-cases = All cases
case-download-dossier = Download the dossier (ZIP)
case-flagged = This work was marked “not my work” on several pages: check that it matches rightly.
case-registration-proof = Registration proof
case-rights-holder = Rights holder
case-infringing-site = Site
case-contact = Contact
case-contact-from-page = from the page { $url }
case-contact-from-site = from the site { $url }
case-contact-from-holder = given by the holder
case-contact-from-reviewer = given by the reviewer
case-multiplier = Multiplier
case-offline-route = Offline route
case-licence = Licence
case-infringing-pages = Infringing pages
case-hit-text = Text
case-hit-image = Image
case-region = Region
case-triage-legal = Legal
case-triage-illegal = Infringing
case-triage-unsure = Unsure
case-triage-not_mine = Not my work
case-side-by-side = Side by side
case-side-by-side-note = the copied parts of the registered work are highlighted
case-registered-image = The registered image
case-matched-region = Matched region
case-region-outlined = the copied region is outlined
case-registered-work = Registered work
case-page-from-evidence = Infringing page, from the evidence
case-page-not-captured = Shown once the page is captured.
case-evidence = Evidence
case-resources-missing = { $n } missing
case-capture-queued = Capture queued: the scheduler captures each page within a minute.
case-capture-again = Capture again now
case-offers = Offers
case-review = Review
case-review-invite-at = Invite at (empty: the address found on the page)
case-review-approve = Approve and invite to settle
case-review-reason = Reason to reject
case-review-reject = Reject
case-review-question = Ask the holder for more
case-review-ask = Ask
case-offline-choose = Choose
case-offline-step = Record a step: date, documents, progress
case-offline-record = Record
case-offline-outcome = Outcome
case-offline-close = Close the case
case-answer-title = Answer the platform
case-answer = Your answer
case-send = Send
case-contact-title = Where the invitation goes
case-contact-address = The site's contact address
case-contact-note = An address found on the page or the site is filled in; nothing is sent before the platform approves.
case-withdraw = Withdraw the case
case-timeline = Timeline
case-event-opened = Opened
case-event-hit_added = Page added
case-event-contact = Contact address changed
case-event-mail = Mail sent
case-event-captured = Evidence captured
case-event-approve = Approved and invited to settle
case-event-reject = Rejected
case-event-ask_more = More asked for
case-event-answer = Answered
case-event-pay = Paid and settled
case-event-claim_licence = Licence claimed
case-event-dispute = Disputed
case-event-expire = Expired
case-event-escalate = Taken offline
case-event-record_step = Step recorded
case-event-close = Closed
case-event-withdraw = Withdrawn
case-actor-platform = Platform
case-actor-infringer = Infringer
case-actor-auto = Automatic protection

# The infringer's settlement page
case-settle-title = Settling the use of “{ $title }”
case-settle-intro = The rights holder, { $holder }, has found this work used on your website { $domain } without a licence. You may take a licence for this use here; once licensed, the use is lawful.
case-settle-settled = This case is settled under licence { $licence }. Thank you for your cooperation.
case-settle-fee-rule = The retroactive licence fee is the holder's published offer price, { $price }, times the multiplier { $multiplier }, which the holder set in advance and discloses here.
case-settle-offer = Offer { $id }: { $terms }
case-settle-deadline = Deadline: { $deadline }
case-settle-expired = The deadline has passed: the case may go to mediation, arbitration or court. Paying now still settles it.
case-settle-email = Email (the licence letter is sent here)
case-settle-licensee = Licensee name
case-settle-pay = Accept and pay
case-settle-in-review = The platform is reviewing this case; you will be informed by email.
case-settle-first-seen = first seen { $time }
case-settle-capture-note = signed, time-stamped and entered in the transparency log as entry #{ $index }
case-settle-wacz-note = A WACZ file can be opened with ReplayWeb.page to replay and check it.
case-settle-other = Other responses
case-settle-claim-licence = We already hold a licence: its reference, or an explanation
case-settle-dispute = Dispute: your statement
case-settle-dispute-button = Submit the dispute
case-settle-responses-note = Either response sends the case back to the platform for review.
case-settle-sent-licence = Your licence reference was sent; the case goes back to the platform for review.
case-settle-sent-dispute = Your statement was sent; the case goes back to the platform for review.
case-settle-text-length = Write 1 to 4000 characters.

# The settlement invitation (in both languages, see the template) and the expiry notice
case-mail-subject = Invitation to license your use of “{ $title }”
case-mail-subject-reminder = Reminder: settle the use of “{ $title }” by { $deadline }
case-mail-greeting = Hello,
case-mail-reminder = Reminder: the invitation below ends on { $deadline }.
case-mail-holder = { $holder } holds the rights in “{ $title }”, registered with Copyright Seal.
case-mail-found = {" "}Our monitoring found it used on { $domain } without a licence.
case-mail-settle-online = You can settle by taking a licence online:
case-mail-fee = Settlement fee: { $fee } ({ $multiplier } the holder's published price, set in advance and disclosed)
case-mail-deadline = Deadline: { $deadline }
case-mail-link = Evidence, the offer and payment:
case-mail-respond = If you hold a licence already, or dispute this, say so on the same page and the platform reviews the case again.
case-mail-offline = Cases not settled by the deadline go to mediation, arbitration or litigation.
case-mail-expired-subject = Case { $id } expired: “{ $title }” on { $domain }
case-mail-expired-body = The settlement deadline passed; the case goes offline and a platform reviewer will choose mediation, arbitration or litigation.

# Errors
case-error-state = There is no case state “{ $state }”.
case-error-multiplier = The multiplier must be a number from 1 to 10, such as 3 or 2.5.
case-error-deadline-days = The deadline must be a whole number of days from 3 to 90.
case-error-no-hits = None of the chosen hits can become a case: they are licensed, triaged as legal or not yours, or in a case already.
case-error-verdict = Choose legal, infringing, unsure or not my work.
case-error-owners-open = Only the organisation's owners open cases.
case-error-owners-act = Only the organisation's owners act on cases.
case-error-platform-only = Only the platform can do that.
case-error-track = Choose mediation, arbitration or litigation.
case-error-action = Unknown action “{ $action }”.
case-error-email = “{ $address }” is not an email address.
case-error-write = { $what ->
    [reason] Write the reason.
    [question] Write the question.
    [step] Write the step.
    [outcome] Write the outcome.
    [answer] Write the answer.
    [address] Write the address.
   *[other] Fill this in.
    }
case-error-too-long = { $what ->
    [reason] The reason
    [question] The question
    [step] The step
    [outcome] The outcome
    [answer] The answer
    [address] The address
   *[other] This
    } is longer than 4000 characters.
