# 邮件：授权购买的确认邮件与授权邮件。
mail-greeting = 您好：
mail-confirm-subject = 请确认授权购买：《{ $title }》
mail-confirm-body = 有人使用此邮箱申请《{ $title }》的使用授权。此邮箱已有账号，需要您确认后才能继续付款：
mail-confirm-expiry = 链接 24 小时内有效。如果这不是您本人，请忽略本邮件，什么都不会发生。
mail-licence-subject = 授权成功 { $licence }：《{ $title }》
mail-licence-issued = 《{ $title }》的使用授权已签发到此邮箱。
mail-licence-id = 授权编号：{ $licence }
mail-licence-price = 价格：{ $price }
mail-licence-attached = 授权书（签名 JSON，含被授权人与使用范围）已附上。下载与收据：
mail-licence-verify = 离线核验：
mail-licence-not-you = 如果这不是您的购买，请忽略本邮件。

# 授权邮件附 PDF 授权书（services/checkout.rs licence_mail）
mail-licence-attached-pdf = 授权书 PDF（含被授权人与使用范围）已附上。下载与收据：
mail-licence-jws = 供程序核验的签名授权书（JWS）：
