# Documents: the authorization letter and invoice PDFs (api/src/pdf/letter.rs, invoice.rs). Formal
# wording, and one language per document.
doc-platform-name = Copyright Seal
doc-platform-tagline = Registration · Licensing · Enforcement
doc-no-cjk = No CJK font was found: Chinese characters may show as boxes. The signed JSON is authoritative.
doc-beijing-time = { $time } (Beijing time)
doc-list-sep = { ", " }
doc-list-and = { " and " }
doc-clause-sep = { "; " }
doc-sentence = { $text }.
doc-page = Page { $n } of { $total }
doc-scan = Scan to verify online
doc-signing-key = Signing key: { $kid }

# Authorization letter
doc-letter-title = Copyright Licence Authorization Letter
doc-letter-number = Licence No. { $id }
doc-letter-continued = Copyright Licence Authorization Letter (continued)
doc-licensor = Licensor: { $name } (account { $id })
doc-licensee = Licensee: { $name } (account { $id })
doc-letter-opening = { $licensor } hereby authorizes { $licensee } to use the work described below, within the scope, in the manner and for the period set out in this letter, as follows:
doc-clause-work = 1. Licensed work
doc-work-desc = “{ $title }” by { $author }, first published at { $source }.
doc-work-ids = Work ID { $id }; content hash (SHA-256) { $hash }
doc-clause-scope = 2. Scope of use
doc-scope-domain = Web pages on the domain { $domain } and all of its subdomains.
doc-scope-prefix = Web pages whose address begins with { $prefix }.
doc-scope-other = Scope: { $scope }
doc-clause-permissions = 3. Permitted acts
doc-permissions = The licensee may make the following uses of the work: { $acts }.
doc-act-reproduce = reproduction
doc-act-display = public display
doc-act-distribute = distribution
doc-act-modify = modification
doc-act-commercial-use = commercial use
doc-clause-conditions = 4. Conditions
doc-cond-channels = use only on { $kinds }
doc-cond-territories = use only in { $list }
doc-cond-duration = { $n ->
    [one] a licence term of { $n } day
   *[other] a licence term of { $n } days
}
doc-cond-excerpt = { $n ->
    [one] excerpts of at most { $n } character each
   *[other] excerpts of at most { $n } characters each
}
doc-cond-online = online use only, not in print
doc-cond-none = No conditions beyond those in this letter
doc-channel-website = websites
doc-channel-wechat = WeChat official accounts
doc-channel-weibo = Weibo
doc-channel-blog = blogs
doc-channel-app = apps
doc-clause-attribution = 5. Attribution
doc-attribution = When using the work, the licensee shall credit it as follows: { $text }
doc-clause-validity = 6. Period of validity
doc-validity = From { $from } until { $until }.
doc-validity-open = From { $from }, with no end date.
doc-clause-fee = 7. Licence fee
doc-fee-paid = The licensee has paid a licence fee of { $amount } through { $provider }, payment reference { $ref }.
doc-fee-free = This is a free licence: no fee is payable.
doc-clause-general = 8. General
doc-general = This letter is issued under offer { $offer }. Any use beyond the scope, manner or period above is not covered by this licence.
doc-issued-by = Issued by { $platform }
doc-issued-at = Issued { $time }
doc-letter-jws = This PDF is a readable copy of the letter signed by the platform (JWS, { $type }). The JWS file is the authoritative, machine-verifiable form; verify it offline with seal verify.
doc-letter-log = Recorded in the transparency log { $origin } as entry { $index } (log size { $size }), root hash { $root }.
doc-seal-name = COPYRIGHT SEAL PLATFORM
doc-seal-purpose = LICENSING

# Invoice
doc-invoice-title = Invoice
doc-invoice-number = Invoice No.
doc-invoice-date = Date of issue
doc-invoice-licence = Licence No.
doc-invoice-series = Series { $series }, no. { $seq }
doc-seller = Seller
doc-seller-holder = Rights holder (account { $id })
doc-seller-agent = { $platform } collects payment and issues this invoice as agent
doc-buyer = Bill to
doc-account = Account { $id }
doc-col-item = Description
doc-col-amount = Amount
doc-line-licence-fee = Copyright licence fee (work { $work }, rights holder { $holder })
doc-line-service-fee = Platform service fee
doc-line-app-fee = Platform service fee (app partner share)
doc-line-transfer = Ledger posting { $id }
doc-total = Total
doc-currency = Currency: { $code }
doc-fapiao-title = Details for a fapiao (Chinese tax invoice)
doc-fapiao-note = This invoice is not a Chinese VAT invoice (fapiao). To request one, check and complete the details below.
doc-fapiao-buyer = Buyer name
doc-fapiao-taxid = Taxpayer ID
doc-fapiao-item = Item
doc-fapiao-item-value = Copyright licence fee
doc-fapiao-amount = Amount
doc-fapiao-rate = Tax rate
doc-fapiao-tax = Tax
doc-invoice-record = This PDF is drawn from the platform's invoice record ({ $type }); every amount is backed by a posting in the ledger.
doc-invoice-more = { $n ->
    [one] { $n } more item: see the invoice record
   *[other] { $n } more items: see the invoice record
}

# Receipt (api/src/pdf/receipt.rs, also the web receipt templates/receipt.html)
doc-receipt-title = Payment Receipt
doc-receipt-number = Receipt No.
doc-receipt-number-line = Receipt No. { $number }
doc-receipt-payer = Received from
doc-receipt-payee = Paid to (rights holder)
doc-receipt-agent = { $platform } collects the fee as agent and holds it in escrow during the publicity period, then settles it to the rights holder.
doc-receipt-paid-at = Paid at
doc-receipt-provider = Payment provider
doc-receipt-ref = Provider reference
doc-receipt-item = Copyright licence fee — "{ $title }"
doc-receipt-scope = Place of use: { $scope }
doc-receipt-work-id = Work { $id }
doc-receipt-total = Amount paid
doc-receipt-escrow = The fee is held in escrow by the platform until { $until }; once the publicity period ends without objection it is settled to the rights holder and an invoice is issued.
doc-receipt-escrow-until = Held in escrow until
doc-receipt-fapiao-note = This receipt is not a Chinese VAT invoice (fapiao). Once the fee has settled, a fapiao is issued on request with the details below.
doc-receipt-record = This receipt is generated from the platform's payment record ({ $type }) and goes with the licence letter of the same licence number.
