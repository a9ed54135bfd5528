# Licence checkout (the form and the result page) and the public seal page.
co-title = Get licence
co-quoted-title = “{ $title }”
co-work-line = “{ $title }” by { $author } · { $holder }
co-step-offer = 1 · Choose an offer
co-no-offer = No open offer for this work.
co-step-who = 2 · Who you are
co-signed-in-as = Signed in as
co-name-on-letter = Name on the letter
co-guest-hint = Guests need only an email address.
co-guest-sign-in = Have an account? Sign in first
co-email = Email
co-name-guest = Name (on the letter)
co-step-where = 3 · Where you will use it
co-use-url = URL, domain, account link or app id
co-use-url-placeholder = https://news.example.com/2026/article or example.com
co-scope-hint = A domain covers the whole site; a URL covers the pages under it.
co-continue = Continue
co-status-title = Checkout
co-heading-licensed = ✓ Licensed
co-heading-awaiting = ✉ Waiting for email confirmation
co-heading-open = … Waiting for payment
co-heading-declined = × Payment declined
co-heading-failed = × Licence not granted
co-status = Status
co-status-open = Waiting for payment
co-status-licensed = Licensed
co-status-declined = Declined
co-status-failed = Failed
co-confirm-intro = This order was entered with your address. Confirm to go on to payment.
co-confirm-button = Confirm and continue
co-awaiting-note = This address has an account: we sent it a link, and payment can go ahead once its owner confirms.
co-licence-id = Licence
co-letter-jws = Letter (signed JSON)
co-letter-pdf = Letter (PDF)
co-receipt = Receipt
co-escrow-note = The fee is held in escrow through the publicity period, then settled to the rights holder.
co-failed = The licence could not be granted. Any payment will be refunded.
co-failure-reason = Reason
co-keep-address = Keep this page's address to download again.
co-error-choose-offer = Choose an offer.
co-error-scope-missing = Enter the URL or domain where you will use the work.
co-error-scope-host = "{ $host }" is not a domain name.
co-error-account-exists = That email address has an account: sign in first, then take the licence.
co-error-name-too-long = Enter a name of at most { $max } characters.
co-error-name-empty = Enter a name.
co-error-name-chars = The name contains control or text-direction characters.
co-error-offer-not-applicable = That offer does not apply to this work.
co-error-settlement-fee = The settlement fee cannot be charged.
seal-badge-alt = Copyright Seal badge
seal-author = Author
seal-holder = Rights holder
seal-statement = © { $year } { $holder }. All rights reserved.
seal-original = Original
seal-rights-status = Rights status
seal-registered = Registered { $date }
seal-rules = Licence terms
seal-no-offer = No public offer yet; contact the rights holder.
seal-records = Licence records
seal-licensed-times = { $n ->
    [one] Licensed once
   *[other] Licensed { $n } times
    }
seal-licensed-times-at = { $n ->
    [one] Licensed once, on:
   *[other] Licensed { $n } times, on:
    }
seal-odrl = Machine-readable terms (ODRL JSON-LD)
seal-get-licence = Get licence
seal-embed = Embed code

# The success page and the receipt page (templates/checkout_status.html, receipt.html)
co-letter-pdf-main = Download the licence letter (PDF)
co-receipt-html = View receipt
co-receipt-pdf = Download receipt (PDF)
co-for-machines = For machines
co-letter-jws-machine = Signed letter (JWS)
co-pdf-unavailable = PDFs cannot be made right now: the server has no CJK font installed. Please try again later.
co-back-to-order = Back to the order
co-place-web = Website
co-place-wechat = WeChat official account
co-place-weibo = Weibo account
co-place-app = App
co-place-name = Name of the account or app (optional)
co-place-hint = WeChat: paste any article link of the account (with __biz=) or its __biz. Weibo: paste the profile or a post link, or the numeric UID. App: its package or bundle id, such as com.example.news.
co-again = You already hold a licence in force for this work at this place ({ $licence }). Buy another one?
co-again-confirm = Yes, buy it again
co-error-place = Choose where you will use the work.
co-error-place-missing = Enter where you will use the work.
co-error-place-name = The name contains characters that are not allowed.
co-error-wechat = “{ $input }” is neither a WeChat article link with __biz= nor a __biz id.
co-error-weibo = “{ $input }” is neither a Weibo profile or post link nor a numeric UID.
co-error-app = “{ $input }” is not a package or bundle id (such as com.example.news).
co-work-line-holder = “{ $title }” · { $holder }
