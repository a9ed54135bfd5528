# Notifications: sales, objections, settlements, payouts and new unlicensed copies (page and mail).
notify-title = Notifications
notify-unread = { $n } unread
notify-empty = No notifications yet. You will hear here when a licence is sold, an objection is raised, licences are settled, money is paid out or new unlicensed copies are found.
notify-mark-all-read = Mark all as read
notify-new = New
notify-open = Open
notify-older = Older notifications
notify-sale-subject = A licence for “{ $title }” was sold
notify-sale-text = { $licensee } bought a licence for “{ $title }” for { $price }. The money is settled after the publicity period.
notify-objection-subject = An objection to a licence for “{ $title }”
notify-objection-refund-text = { $licensee } asked for a refund of the licence for “{ $title }” during the publicity period; the money is frozen until the platform decides.
notify-objection-dispute-text = Someone disputes who owns “{ $title }” (licensee { $licensee }); the money is frozen until the platform decides.
notify-settlement-subject = { $n ->
    [one] { $n } licence settled
   *[other] { $n } licences settled
    }
notify-settlement-text = { $n ->
    [one] { $n } licence was settled; your net income is { $net }, and the invoice is issued.
   *[other] { $n } licences were settled; your net income is { $net }, and the invoices are issued.
    }
notify-payout-subject = { $amount } paid out to you
notify-payout-text = { $n ->
    [one] The platform paid you { $amount } for { $n } licence (payout { $payout }).
   *[other] The platform paid you { $amount } for { $n } licences (payout { $payout }).
    }
notify-black-hits-subject = { $n ->
    [one] { $n } new unlicensed copy found
   *[other] { $n } new unlicensed copies found
    }
notify-black-hits-text = { $n ->
    [one] Monitoring found { $n } new unlicensed copy today, of “{ $title }”.
   *[other] Monitoring found { $n } new unlicensed copies today, among them of “{ $title }”.
    }
notify-mail-greeting = Hello { $name },
notify-mail-details = Details: { $url }
notify-mail-all = All notifications: { $url }
notify-mail-footer = You receive this email because you are a member of this rights holder's account. It was sent automatically by Copyright Seal.
