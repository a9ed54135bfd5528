# 错误信息：按错误代码的通用说明，以及带参数的具体说明。
error-other = 请求未能完成。
error-not_found = 找不到该页面或记录。
error-invalid_input = 输入有误，请检查后重试。
error-unauthenticated = 请先登录。
error-forbidden = 你没有权限执行此操作。
error-conflict = 与现有记录冲突。
error-refused = 该操作被拒绝。
error-internal = 服务器内部错误，已记录。
error-rate_limited = 操作过于频繁，请稍后再试。
error-csrf = 表单已过期，请刷新页面后重试。
error-unavailable = 服务暂时不可用。
error-role-missing = 此功能需要以下角色之一：{ $roles }。
error-team-role = 你在团队中的角色（{ $role ->
    [owner] 所有者
    [analyst] 分析员
   *[finance] 财务
    }）不包括此功能。
error-price-invalid = “{ $input }”不是有效的价格（最多 { $decimals } 位小数）。
error-handle-spaces = 请输入域名、账号名称或博客地址，不含空格。
error-channel-kind = 请选择渠道类型。
error-preset = 请选择一个方案模板。
error-price-zero = 付费方案的价格必须大于零。
error-source-url-scheme = 原文地址须以 http:// 或 https:// 开头。
error-source-url-unverified = 填写原文地址前，请先选择该作品发布的渠道并完成所有权验证。
error-source-url-elsewhere = 原文地址不在所选渠道上。
error-work-empty = 请填写作品正文或上传图片。
error-field-required = 请填写“{ $field }”。
error-case_state = 案件当前状态不允许此操作。
error-fetch_failed = 无法获取该网址。
error-capture_failed = 取证失败。
error-no_font = 本服务器缺少中文字体，暂时无法生成 PDF。
error-not_licensed = 该用途尚未获得授权。
error-unprovable = 无法证明该渠道归你所有。
error-bad_webhook = 支付通知无效。
error-reason-required = 请填写原因。
error-currency = 不支持该币种。
error-offer-withdrawn = 该方案已撤回，不能再修改。
error-zone = 请从列表中选择时区。
