# Error messages: generic words per error code, and specific messages with arguments.
error-other = The request could not be completed.
error-not_found = That page or record was not found.
error-invalid_input = Some input is not valid; check it and try again.
error-unauthenticated = Sign in first.
error-forbidden = You may not do this.
error-conflict = This conflicts with an existing record.
error-refused = This was refused.
error-internal = Internal error; it has been logged.
error-rate_limited = Too many attempts; try again later.
error-csrf = This form has expired; reload the page and try again.
error-unavailable = The service is unavailable for now.
error-role-missing = This needs one of the roles: { $roles }.
error-team-role = Your team role ({ $role ->
    [owner] owner
    [analyst] analyst
   *[finance] finance
    }) does not cover this.
error-price-invalid = "{ $input }" is not a price (at most { $decimals } decimals).
error-handle-spaces = Enter the domain, account name or blog address, without spaces.
error-channel-kind = Choose a channel kind.
error-preset = Choose an offer preset.
error-price-zero = A paid offer needs a price above zero.
error-source-url-scheme = The source URL must start with http:// or https://.
error-source-url-unverified = A source URL needs a verified channel: choose the channel the work is published on, after proving it is yours.
error-source-url-elsewhere = The source URL is not on the chosen channel.
error-work-empty = Give the work's text or an image file.
error-field-required = Fill in "{ $field }".
error-case_state = The case's state does not allow this.
error-fetch_failed = That address could not be fetched.
error-capture_failed = The capture failed.
error-no_font = This server has no CJK font, so PDFs cannot be made for now.
error-not_licensed = This use is not licensed.
error-unprovable = The channel could not be proven yours.
error-bad_webhook = The payment notice is not valid.
error-reason-required = Give a reason.
error-currency = That currency is not supported.
error-offer-withdrawn = The offer was withdrawn and can no longer be changed.
error-zone = Choose a time zone from the list.
