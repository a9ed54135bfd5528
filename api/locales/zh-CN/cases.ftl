# 维权：案件列表、案件详情、侵权方的和解页、和解邀请邮件。
# 案件状态与线下途径
case-state-review = 待审核
case-state-needs_info = 待补充材料
case-state-rejected = 已驳回
case-state-invited = 已邀请和解
case-state-settled = 已和解
case-state-expired = 已逾期
case-state-offline = 线下维权
case-state-closed = 已结案
case-state-withdrawn = 已撤回
case-track-mediation = 调解
case-track-arbitration = 仲裁
case-track-litigation = 诉讼
case-beijing-time = { $time }（北京时间）

# 统计图
case-chart-by-state = 案件状态
case-chart-daily = 每日立案与和解（UTC）
case-chart-review = 审核
case-chart-needs_info = 补充
case-chart-invited = 邀请
case-chart-settled = 和解
case-chart-expired = 逾期
case-chart-offline = 线下
case-chart-closed = 结案
case-chart-rejected = 驳回
case-chart-withdrawn = 撤回
case-chart-opened = 立案

# 案件列表
case-list-title = 维权案件
case-list-admin = 平台审核
case-list-empty = 暂无案件。
case-tabs-label = 按状态筛选
case-tab-all = 全部
case-tab-review = 待审核
case-tab-invited = 已邀请
case-tab-settled = 已和解
case-tab-offline = 线下
case-tab-ended = 已结束
case-stat-rate = 和解率
case-stat-recovered = 已追回
case-stat-median = 和解用时中位数
case-stat-days = { $days } 天
case-stat-settled-decided = 已和解 / 已结案
case-protection-title = 自动维权
case-protection-locked = 请先验证一个渠道，或请平台确认您的身份，才能发起维权：错误的指控会伤害无辜的人。
case-protection-auto = 新的未授权结果自动提交为案件
case-protection-multiplier = 和解倍数（1–10 倍，向侵权方公开）
case-protection-days = 和解期限（3–90 天）
case-protection-fee-rule = 和解费 = 您公开的最低许可价格 × 倍数。
case-protection-choose-hits = 在监测结果中选择未授权结果提交案件
case-identity-title = 确认权利人身份
case-identity-holder = 权利人编号
case-identity-confirm = 确认
case-notice-saved = 设置已保存。
case-notice-submitted = 已提交为案件，等待平台审核。
case-notice-confirmed = 身份已确认。
case-col-case = 案件
case-col-holder = 权利人
case-col-work = 作品
case-col-site = 网站
case-col-state = 状态
case-col-fee = 和解费
case-col-deadline = 期限
case-col-opened = 立案时间
case-col-page = 页面
case-col-kind = 类型
case-col-score = 相似度
case-col-colour = 颜色
case-col-triage = 判定
case-col-capture = 抓取
case-col-time = 时间
case-col-log = 日志
case-col-resources = 资源

# 案件详情
case-title = 案件 { $id }
case-work-title = 《{ $title }》
case-all-cases = 全部案件
case-download-dossier = 下载卷宗（ZIP）
case-flagged = 该作品已在多个页面被标记为“不是我的作品”，请复核其匹配是否正确。
case-registration-proof = 作品登记证明
case-rights-holder = 权利人
case-infringing-site = 侵权网站
case-contact = 联系方式
case-contact-from-page = 取自页面 { $url }
case-contact-from-site = 取自网站 { $url }
case-contact-from-holder = 权利人提供
case-contact-from-reviewer = 审核员提供
case-multiplier = 和解倍数
case-offline-route = 线下途径
case-licence = 授权
case-infringing-pages = 侵权页面
case-hit-text = 文字
case-hit-image = 图片
case-region = 区域
case-triage-legal = 合法使用
case-triage-illegal = 侵权
case-triage-unsure = 不确定
case-triage-not_mine = 不是我的作品
case-side-by-side = 比对
case-side-by-side-note = 登记作品中被复制的部分已高亮
case-registered-image = 登记图片
case-matched-region = 匹配区域
case-region-outlined = 被复制区域已框出
case-registered-work = 登记作品
case-page-from-evidence = 侵权页面（取自证据）
case-page-not-captured = 页面抓取为证据后在此显示。
case-evidence = 证据
case-resources-missing = { $n } 项未取得
case-capture-queued = 证据抓取排队中：调度程序会在一分钟内抓取每个页面。
case-capture-again = 立即重新抓取
case-offers = 许可报价
case-review = 审核
case-review-invite-at = 邀请发送至（留空则使用页面上找到的地址）
case-review-approve = 批准并发送和解邀请
case-review-reason = 驳回理由
case-review-reject = 驳回
case-review-question = 请权利人补充
case-review-ask = 要求补充
case-offline-choose = 确定
case-offline-step = 记录步骤（日期、文件、进展）
case-offline-record = 记录
case-offline-outcome = 结果
case-offline-close = 结案
case-answer-title = 补充材料
case-answer = 回复
case-send = 提交
case-contact-title = 邀请发送地址
case-contact-address = 侵权网站的联系邮箱
case-contact-note = 在页面或网站上找到的地址会自动填入；平台批准之前不会发送任何邮件。
case-withdraw = 撤回案件
case-timeline = 时间线
case-event-opened = 立案
case-event-hit_added = 加入页面
case-event-contact = 更改联系邮箱
case-event-mail = 发送邮件
case-event-captured = 抓取证据
case-event-approve = 批准并邀请和解
case-event-reject = 驳回
case-event-ask_more = 要求补充
case-event-answer = 补充回复
case-event-pay = 付款和解
case-event-claim_licence = 声称已获授权
case-event-dispute = 提出异议
case-event-expire = 逾期
case-event-escalate = 转入线下维权
case-event-record_step = 记录步骤
case-event-close = 结案
case-event-withdraw = 撤回
case-actor-platform = 平台
case-actor-infringer = 侵权方
case-actor-auto = 自动维权

# 侵权方的和解页
case-settle-title = 就《{ $title }》的使用办理和解
case-settle-intro = 权利人 { $holder } 发现贵网站 { $domain } 未经授权使用了该作品。贵方可在本页补办授权，补办后该使用即为合法使用。
case-settle-settled = 本案已和解，授权编号 { $licence }。感谢贵方的配合。
case-settle-fee-rule = 补办授权费 = 公开报价 { $price } × 倍数 { $multiplier }（倍数由权利人事先设定并公开）。
case-settle-offer = 报价 { $id }：{ $terms }
case-settle-deadline = 期限：{ $deadline }
case-settle-expired = 已过期限：案件可能转入调解、仲裁或诉讼；现在付款仍可了结本案。
case-settle-email = 电子邮箱（授权函将发送至此）
case-settle-licensee = 被授权方名称
case-settle-pay = 接受并付款
case-settle-in-review = 本案正在平台审核中，审核结果将以邮件通知贵方。
case-settle-first-seen = 首次发现于 { $time }
case-settle-capture-note = 已签名并加盖时间戳，记入透明日志第 { $index } 条
case-settle-wacz-note = WACZ 文件可用 ReplayWeb.page 打开回放并核验。
case-settle-other = 其他回应
case-settle-claim-licence = 我方已获得授权（请提供授权编号或说明）
case-settle-dispute = 异议陈述
case-settle-dispute-button = 提交异议
case-settle-responses-note = 提交任一回应后，案件将交回平台重新审核。
case-settle-sent-licence = 授权信息已提交，案件交回平台重新审核。
case-settle-sent-dispute = 异议已提交，案件交回平台重新审核。
case-settle-text-length = 请填写 1 至 4000 个字符。

# 和解邀请邮件（中英双语，见模板说明）与逾期通知
case-mail-subject = 版权使用和解邀请：《{ $title }》
case-mail-subject-reminder = 提醒：《{ $title }》的和解期限 { $deadline } 将至
case-mail-greeting = 您好：
case-mail-reminder = 提醒：以下和解邀请将于 { $deadline } 到期。
case-mail-holder = { $holder } 是作品《{ $title }》的权利人，该作品已在版权印平台登记。
case-mail-found = 平台监测到 { $domain } 上的页面使用了该作品，但未找到对应的授权。
case-mail-settle-online = 您可以在线补办授权，了结此事：
case-mail-fee = 和解费用：{ $fee }（权利人公开报价的 { $multiplier }，倍数事先设定并公开）
case-mail-deadline = 期限：{ $deadline }
case-mail-link = 证据、报价与付款：
case-mail-respond = 如果您已持有授权，或对此有异议，请在同一页面告知，平台将重新审核。
case-mail-offline = 期限届满仍未和解的，案件将转入调解、仲裁或诉讼。
case-mail-expired-subject = 案件 { $id } 已逾期：{ $domain } 上的《{ $title }》
case-mail-expired-body = 和解期限已过，案件转入线下维权，平台审核员将选择调解、仲裁或诉讼。

# 错误
case-error-state = 没有“{ $state }”这种案件状态。
case-error-multiplier = 和解倍数须为 1 至 10 之间的数字，例如 3 或 2.5。
case-error-deadline-days = 和解期限须为 3 至 90 之间的整数天数。
case-error-no-hits = 所选结果都不能提交为案件：它们已授权、已判定为合法或不是您的作品，或已在案件中。
case-error-verdict = 请选择合法使用、侵权、不确定或不是我的作品。
case-error-owners-open = 只有组织的所有者可以发起案件。
case-error-owners-act = 只有组织的所有者可以处理案件。
case-error-platform-only = 此操作只能由平台进行。
case-error-track = 请选择调解、仲裁或诉讼。
case-error-action = 未知的操作“{ $action }”。
case-error-email = “{ $address }”不是有效的电子邮箱地址。
case-error-write = { $what ->
    [reason] 请填写驳回理由。
    [question] 请填写需要补充的内容。
    [step] 请填写步骤。
    [outcome] 请填写结果。
    [answer] 请填写回复。
    [address] 请填写邮箱地址。
   *[other] 请填写此项。
    }
case-error-too-long = { $what ->
    [reason] 驳回理由
    [question] 需要补充的内容
    [step] 步骤
    [outcome] 结果
    [answer] 回复
    [address] 邮箱地址
   *[other] 此项
    }超过 4000 个字符。
