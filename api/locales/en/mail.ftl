# Mail: the purchase confirmation and the licence email.
mail-greeting = Hello,
mail-confirm-subject = Confirm a licence purchase: "{ $title }"
mail-confirm-body = Someone asked for a licence for "{ $title }" with this address, which has an account, so you must confirm before payment can go ahead:
mail-confirm-expiry = The link works for 24 hours. If this was not you, ignore this email: nothing will happen.
mail-licence-subject = Licence { $licence }: "{ $title }"
mail-licence-issued = A licence for "{ $title }" was issued to this address.
mail-licence-id = Licence: { $licence }
mail-licence-price = Price: { $price }
mail-licence-attached = The signed letter (naming the licensee and the scope) is attached; downloads and receipt:
mail-licence-verify = Verify offline:
mail-licence-not-you = If you did not buy this, ignore this email.

# The licence mail attaches the letter as a PDF (services/checkout.rs licence_mail)
mail-licence-attached-pdf = The licence letter (PDF, naming the licensee and the scope) is attached; downloads and receipt:
mail-licence-jws = For machines, the signed letter (JWS):
