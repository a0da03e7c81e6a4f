//! The words of each email: 中文 first, English below, times in the event's time zone.

use chrono::{DateTime, Utc};
use huichang_core::deadline::{Deadline, DeadlineKind, Notice};
use huichang_core::event::{Event, local};
use huichang_core::requires::Requires;
use huichang_core::unit_deadline::{self, UnitDeadline};
use huichang_store::{Letter, UnitContact, VenueContact};
use uuid::Uuid;

/// A moment as the event's readers say it: `2021年11月20日 16:00（北京时间）` and its English.
pub fn when(event: &Event, at: DateTime<Utc>) -> (String, String) {
    when_in(event.event.timezone, at)
}

fn when_in(tz: chrono_tz::Tz, at: DateTime<Utc>) -> (String, String) {
    let local = local(at, tz);
    let (zone_zh, zone_en) = zone(tz);
    (
        format!("{}（{zone_zh}）", local.format("%Y年%-m月%-d日 %H:%M")),
        format!("{} ({zone_en})", local.format("%Y-%m-%d %H:%M")),
    )
}

/// The time zone as the reader says it: China's zones are 北京时间, the others by their name.
fn zone(tz: chrono_tz::Tz) -> (&'static str, &'static str) {
    match tz.name() {
        "Asia/Shanghai" | "Asia/Chongqing" | "Asia/Chungking" | "Asia/Harbin" | "PRC" => ("北京时间", "Beijing time"),
        name => (name, name),
    }
}

/// What a venue still owes, in both languages.
fn missing(event: &Event, deadline: &Deadline) -> (String, String) {
    match deadline.deadline.kind {
        DeadlineKind::Registration => (
            "提交参会回执（参会人员名单及会场视频调试负责人）".into(),
            "submitted its attendee list and the name and mobile of its video-test technician".into(),
        ),
        DeadlineKind::VideoCheck => {
            let (from_zh, from_en) = when(event, event.event.video_check_starts_at);
            let (to_zh, to_en) = when(event, event.event.video_check_ends_at);
            (
                format!("通过视频调试（调试时间：{from_zh} 至 {to_zh}）"),
                format!("passed the video check (window: {from_en} to {to_en})"),
            )
        }
        DeadlineKind::Deliverable => {
            (format!("报送“{}”", deadline.deadline.title), format!("submitted \"{}\"", deadline.deadline.title))
        }
    }
}

/// A reminder before the deadline, or the overdue notice at it, for one venue, with the link
/// that signs its coordinator in.
pub fn venue_notice(
    event: &Event,
    deadline: &Deadline,
    venue: &VenueContact,
    notice: Notice,
    (link, valid_days): (&str, i64),
) -> Letter {
    let title = &event.event.title;
    let what = &deadline.deadline.title;
    let (due_zh, due_en) = when(event, deadline.deadline.due_at);
    let (missing_zh, missing_en) = match venue.delegation {
        // A delegation sits in a hall with its video already: it owes its people, enough of them.
        Some(_) => {
            ("提交代表团参会名单（不少于规定人数）".into(), "sent its list with at least the people it owes".into())
        }
        None => missing(event, deadline),
    };
    let (subject, lead_zh, lead_en) = match notice {
        Notice::Reminder { .. } => (
            format!("【提醒】{title}：{what}将于{due_zh}截止 / Reminder: due {due_en}"),
            format!("{title}的“{what}”将于{due_zh}截止。"),
            format!("\"{what}\" of {title} is due on {due_en}."),
        ),
        Notice::Overdue { .. } => (
            format!("【逾期】{title}：{what}已于{due_zh}截止 / Overdue since {due_en}"),
            format!("{title}的“{what}”已于{due_zh}截止。"),
            format!("\"{what}\" of {title} was due on {due_en}."),
        ),
    };
    let zh = [
        format!("{}：", venue.name),
        lead_zh,
        format!("{}尚未{missing_zh}。", if venue.delegation.is_some() { "贵代表团" } else { "贵会场" }),
        format!("点击链接即可登录会场页面办理（{valid_days}天内有效，仅可使用一次）：{link}"),
    ];
    let en = [
        format!("{}:", venue.name),
        lead_en,
        format!("Your {} has not yet {missing_en}.", if venue.delegation.is_some() { "delegation" } else { "venue" }),
        format!("This link signs you in to your venue's page (once, within {valid_days} days): {link}"),
    ];
    compose(event, subject, &zh, &en, link)
}

/// The organiser's digest at the deadline: exactly the venues still missing.
pub fn digest(event: &Event, deadline: &Deadline, missing: &[&VenueContact], public_url: &str) -> Letter {
    let title = &event.event.title;
    let what = &deadline.deadline.title;
    let (due_zh, due_en) = when(event, deadline.deadline.due_at);
    let link = format!("{public_url}/events/{}", event.id);
    let names: Vec<&str> = missing.iter().map(|v| v.name.as_str()).collect();
    let subject = if names.is_empty() {
        format!("【汇总】{title}：{what}已全部按时完成 / Digest: every venue met \"{what}\"")
    } else {
        format!("【汇总】{title}：{what}截止时仍有{}个会场未完成 / Digest: {} venues missing", names.len(), names.len())
    };
    let list_zh = if names.is_empty() {
        "所有会场均已按时完成。".to_owned()
    } else {
        format!("截止时仍未完成的会场（{}个）：{}", names.len(), names.join("、"))
    };
    let list_en = if names.is_empty() {
        "Every venue met it.".to_owned()
    } else {
        format!("Still missing ({}): {}", names.len(), names.join(", "))
    };
    let zh =
        ["主办方：".to_owned(), format!("{title}的“{what}”已于{due_zh}截止。"), list_zh, format!("实时看板：{link}")];
    let en = [
        "Organiser:".to_owned(),
        format!("\"{what}\" of {title} was due on {due_en}."),
        list_en,
        format!("Live dashboard: {link}"),
    ];
    compose(event, subject, &zh, &en, &link)
}

/// What a unit deadline asks for, in both languages; none when it asks for nothing in particular.
fn requirements(requires: &Requires) -> Option<(String, String)> {
    let mut zh = Vec::new();
    let mut en = Vec::new();
    if let Some(n) = requires.text_min_chars {
        zh.push(format!("文字材料不少于{n}字"));
        en.push(format!("a text of at least {n} characters"));
    }
    if let Some(n) = requires.photos_min {
        zh.push(format!("照片不少于{n}张"));
        en.push(format!("at least {n} photos"));
    }
    if let Some(n) = requires.caption_max_chars {
        zh.push(format!("每张照片配文（文件名）不超过{n}字"));
        en.push(format!("each photo captioned (its file name) in at most {n} characters"));
    }
    (!zh.is_empty()).then(|| (format!("报送要求：{}。", zh.join("；")), format!("Required: {}.", en.join("; "))))
}

/// A reminder before a unit deadline, or the overdue notice at it, to a unit below that has
/// not met it, with the link to its page of deadlines.
pub fn unit_notice(
    setter: &UnitContact,
    deadline: &UnitDeadline,
    unit: &UnitContact,
    notice: Notice,
    public_url: &str,
) -> Letter {
    let from = &setter.name;
    let what = &deadline.deadline.title;
    let (due_zh, due_en) = when_in(unit_deadline::ZONE, deadline.deadline.due_at);
    let link = format!("{public_url}/units/{}/deadlines", unit.id);
    let (subject, lead_zh, lead_en) = match notice {
        Notice::Reminder { .. } => (
            format!("【提醒】{from}：{what}将于{due_zh}截止 / Reminder: due {due_en}"),
            format!("{from}布置的“{what}”将于{due_zh}截止，贵单位尚未报送。"),
            format!("\"{what}\", set by {from}, is due on {due_en}; your unit has not sent it yet."),
        ),
        Notice::Overdue { .. } => (
            format!("【逾期】{from}：{what}已于{due_zh}截止 / Overdue since {due_en}"),
            format!("{from}布置的“{what}”已于{due_zh}截止，贵单位尚未报送，请尽快补报。"),
            format!("\"{what}\", set by {from}, was due on {due_en}; your unit has not sent it, please send it now."),
        ),
    };
    let mut zh = vec![format!("{}：", unit.name), lead_zh];
    let mut en = vec![format!("{}:", unit.name), lead_en];
    if let Some((rules_zh, rules_en)) = requirements(&deadline.requires) {
        zh.push(rules_zh);
        en.push(rules_en);
    }
    zh.push(format!("报送页面（请使用本单位的组织者链接登录）：{link}"));
    en.push(format!("Send it on your unit's page (signed in with your organiser link): {link}"));
    letter(subject, &zh, &en, &link)
}

/// The setting unit's digest at its deadline: exactly the units below still missing.
pub fn unit_digest(
    setter: &UnitContact,
    deadline: &UnitDeadline,
    missing: &[&UnitContact],
    public_url: &str,
) -> Letter {
    let what = &deadline.deadline.title;
    let (due_zh, due_en) = when_in(unit_deadline::ZONE, deadline.deadline.due_at);
    let link = format!("{public_url}/units/{}/deadlines", setter.id);
    let names: Vec<&str> = missing.iter().map(|u| u.name.as_str()).collect();
    let subject = if names.is_empty() {
        format!("【汇总】{what}：下级单位已全部按时报送 / Digest: every unit met \"{what}\"")
    } else {
        format!("【汇总】{what}：截止时仍有{}个单位未报送 / Digest: {} units missing", names.len(), names.len())
    };
    let (list_zh, list_en) = if names.is_empty() {
        ("下级单位均已按时报送。".to_owned(), "Every unit below sent it in time.".to_owned())
    } else {
        (
            format!("截止时仍未报送的单位（{}个）：{}", names.len(), names.join("、")),
            format!("Still missing ({}): {}", names.len(), names.join(", ")),
        )
    };
    let zh =
        [format!("{}：", setter.name), format!("“{what}”已于{due_zh}截止。"), list_zh, format!("报送情况：{link}")];
    let en = [
        format!("{}:", setter.name),
        format!("\"{what}\" was due on {due_en}."),
        list_en,
        format!("Who sent what: {link}"),
    ];
    letter(subject, &zh, &en, &link)
}

/// What the organiser returned to a unit below, with its comment: the deadline counts as not
/// met until the unit sends again.
pub fn unit_returned(
    setter: &str,
    title: &str,
    due_at: DateTime<Utc>,
    unit: (Uuid, &str),
    comment: &str,
    public_url: &str,
) -> Letter {
    let (due_zh, due_en) = when_in(unit_deadline::ZONE, due_at);
    let link = format!("{public_url}/units/{}/deadlines", unit.0);
    let subject = format!("【退回】{setter}：{title}请修改后重新报送 / Returned: please send \"{title}\" again");
    let zh = [
        format!("{}：", unit.1),
        format!("贵单位报送的“{title}”已被{setter}退回，意见如下："),
        comment.to_owned(),
        format!("请按意见修改后重新报送（截止时间：{due_zh}）；重新报送之前，此项仍计为未报送。报送页面：{link}"),
    ];
    let en = [
        format!("{}:", unit.1),
        format!("{setter} returned what your unit sent for \"{title}\", saying:"),
        comment.to_owned(),
        format!("Please send it again as asked (due {due_en}); until then it counts as not sent. Send it on: {link}"),
    ];
    letter(subject, &zh, &en, &link)
}

/// The organiser returned what a venue sent, its list (`deliverable` `None`) or a deliverable,
/// with its comment and the link that signs its coordinator in to send it again.
pub fn venue_returned(
    event: &Event,
    venue: &str,
    deliverable: Option<&str>,
    comment: &str,
    (link, valid_days): (&str, i64),
) -> Letter {
    let title = &event.event.title;
    let (what_zh, what_en) = match deliverable {
        None => ("参会回执".to_owned(), "attendee list".to_owned()),
        Some(item) => (format!("“{item}”材料"), format!("\"{item}\"")),
    };
    let subject = format!("【退回】{title}：{what_zh}请修改后重新提交 / Returned: please send the {what_en} again");
    let zh = [
        format!("{venue}："),
        format!("贵会场提交的{title}{what_zh}已被主办方退回，意见如下："),
        comment.to_owned(),
        format!("请按意见修改后重新提交；重新提交之前，{what_zh}计为未提交。"),
        format!("点击链接即可登录会场页面办理（{valid_days}天内有效，仅可使用一次）：{link}"),
    ];
    let en = [
        format!("{venue}:"),
        format!("The organiser returned your venue's {what_en} for {title}, saying:"),
        comment.to_owned(),
        "Please change it as asked and send it again; until then it counts as not sent.".to_owned(),
        format!("This link signs you in to your venue's page (once, within {valid_days} days): {link}"),
    ];
    compose(event, subject, &zh, &en, link)
}

/// The live-stream notice to a person a capacity cut moved to online participation: where to
/// watch, and whom to call. It links to no page of huichang, which they could not open.
pub fn online_notice(event: &Event, name: &str) -> Letter {
    let title = &event.event.title;
    let (starts_zh, starts_en) = when(event, event.event.starts_at);
    let subject = format!("【线上参会通知】{title} / You will join online");
    let (link, watch_zh, watch_en) = watch(event);
    let zh = [
        format!("{name}："),
        format!("因会场容量调整，您将通过线上直播参加{title}（{starts_zh}开始），无需到会场签到。"),
        watch_zh,
    ];
    let en = [
        format!("{name}:"),
        format!(
            "The room's capacity was reduced, so you will join {title} (starting {starts_en}) by live stream; please do not come to the venue."
        ),
        watch_en,
    ];
    compose(event, subject, &zh, &en, &link)
}

/// Where people moved online watch: the stream's address (the letter's link) and a line in each
/// language, or word that the organiser will say.
fn watch(event: &Event) -> (String, String, String) {
    match &event.event.stream {
        Some(stream) => (
            stream.url.clone(),
            format!("直播地址：{}{}", stream.url, stream.note.as_ref().map(|n| format!("（{n}）")).unwrap_or_default()),
            format!("Watch at: {}{}", stream.url, stream.note.as_ref().map(|n| format!(" ({n})")).unwrap_or_default()),
        ),
        None => (
            String::new(),
            "直播观看方式请以主办方通知为准。".to_owned(),
            "The organiser will tell you how to watch.".to_owned(),
        ),
    }
}

/// People moved online who have no email, in one letter to their venue's contact.
pub fn moved_online_digest(event: &Event, venue: &str, names: &[&str]) -> Letter {
    let title = &event.event.title;
    let (starts_zh, starts_en) = when(event, event.event.starts_at);
    let (link, watch_zh, watch_en) = watch(event);
    let subject =
        format!("【线上参会通知】{title}：{venue}{}人改为线上参会 / {} moved online", names.len(), names.len());
    let zh = [
        format!("{venue}："),
        format!(
            "因会场容量调整，以下{}位未留邮箱的人员将通过线上直播参加{title}（{starts_zh}开始），请转告本人：{}。",
            names.len(),
            names.join("、")
        ),
        watch_zh,
    ];
    let en = [
        format!("{venue}:"),
        format!(
            "The room's capacity was reduced: these {} people, who left no email, will join {title} (starting {starts_en}) by live stream; please tell them: {}.",
            names.len(),
            names.join(", ")
        ),
        watch_en,
    ];
    compose(event, subject, &zh, &en, &link)
}

/// The event's contacts, as one line in each language; none when it lists nobody.
fn contact_lines(event: &Event) -> Option<(String, String)> {
    let contacts = &event.event.contacts;
    if contacts.is_empty() {
        return None;
    }
    let each: Vec<String> = contacts.iter().map(|c| format!("{} {} {}", c.role, c.name, c.phone)).collect();
    Some((format!("如有问题请联系：{}", each.join("；")), format!("Questions: {}", each.join("; "))))
}

/// An event's letter: its contacts close it.
fn compose(event: &Event, subject: String, zh: &[String], en: &[String], link: &str) -> Letter {
    match contact_lines(event) {
        Some((contacts_zh, contacts_en)) => {
            letter(subject, &[zh, &[contacts_zh]].concat(), &[en, &[contacts_en]].concat(), link)
        }
        None => letter(subject, zh, en, link),
    }
}

fn letter(subject: String, zh: &[String], en: &[String], link: &str) -> Letter {
    let footer_zh = "此邮件由 huichang 会场系统自动发送，请勿直接回复。";
    let footer_en = "Sent automatically by huichang; please do not reply to this address.";
    let text = format!("{}\n\n{footer_zh}\n\n----\n\n{}\n\n{footer_en}\n", zh.join("\n\n"), en.join("\n\n"));
    let paragraphs =
        |lines: &[String]| lines.iter().map(|l| format!("<p>{}</p>", linked(&escape(l), link))).collect::<String>();
    let html = format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>{}</title></head>\
         <body style=\"font-family:sans-serif;line-height:1.6\">{}<p style=\"color:#666\">{footer_zh}</p><hr>\
         <div lang=\"en\">{}<p style=\"color:#666\">{footer_en}</p></div></body></html>",
        escape(&subject),
        paragraphs(zh),
        paragraphs(en)
    );
    Letter { subject, text, html }
}

/// The page link as an anchor (ours, or the event's validated http(s) stream address).
fn linked(escaped: &str, link: &str) -> String {
    if link.is_empty() {
        return escaped.to_owned();
    }
    let escaped_link = escape(link);
    escaped.replace(&escaped_link, &format!("<a href=\"{escaped_link}\">{escaped_link}</a>"))
}

pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use super::*;

    use chrono::TimeZone;
    use huichang_core::deadline::{Deadline, event_deadlines};
    use huichang_core::event::EventInput;

    fn ceremony() -> (Event, Deadline, VenueContact) {
        let input: EventInput = serde_json::from_value(serde_json::json!({
            "title": "2021年全民终身学习活动周全国总开幕式", "timezone": "Asia/Shanghai",
            "starts_at": "2021-11-23T10:00:00+08:00", "ends_at": "2021-11-23T11:30:00+08:00",
            "registration_deadline": "2021-11-20T16:00:00+08:00",
            "video_check": {"starts_at": "2021-11-22T09:30:00+08:00", "ends_at": "2021-11-22T11:30:00+08:00"},
            "organizer_email": "org@example.cn"}))
        .unwrap();
        let created = Utc.with_ymd_and_hms(2021, 11, 1, 0, 0, 0).unwrap();
        let event = Event { id: Uuid::nil(), unit_id: None, created_at: created, event: input.validate().unwrap() };
        let [registration, _] = event_deadlines(&event.event);
        let deadline = Deadline { id: Uuid::nil(), event_id: event.id, created_at: created, deadline: registration };
        let venue = VenueContact {
            delegation: None,
            id: Uuid::nil(),
            name: "四川省分会场".into(),
            contact_email: "sc@example.cn".into(),
            created_at: created,
        };
        (event, deadline, venue)
    }

    const LINK: (&str, i64) = ("https://hc.example.cn/signin/email?key=hcl_1", 7);

    #[test]
    fn a_reminder_says_which_deadline_when_and_what_is_missing_in_both_languages() {
        let (event, deadline, venue) = ceremony();
        let notice = deadline.notices()[0];
        let mail = venue_notice(&event, &deadline, &venue, notice, LINK);
        assert!(mail.subject.starts_with("【提醒】2021年全民终身学习活动周全国总开幕式"), "{}", mail.subject);
        // An official reads 北京时间, not a zone database's name.
        assert!(mail.subject.contains("2021年11月20日 16:00（北京时间）"), "{}", mail.subject);
        assert!(!mail.text.contains("Asia/Shanghai"));
        let (zh, en) = mail.text.split_once("----").unwrap();
        assert!(zh.contains("四川省分会场：") && zh.contains("贵会场尚未提交参会回执"));
        assert!(
            en.contains("2021-11-20 16:00 (Beijing time)") && en.contains("has not yet submitted its attendee list")
        );
        assert!(zh.contains("7天内有效，仅可使用一次）：https://hc.example.cn/signin/email?key=hcl_1"), "{zh}");
        assert!(mail.html.contains("<a href=\"https://hc.example.cn/signin/email?key=hcl_1\">"), "{}", mail.html);
    }

    #[test]
    fn the_digest_names_exactly_the_missing_venues() {
        let (event, deadline, venue) = ceremony();
        let other = VenueContact { name: "西藏自治区分会场".into(), ..venue.clone() };
        let mail = digest(&event, &deadline, &[&venue, &other], "https://hc.example.cn");
        assert!(mail.subject.contains("2个会场"));
        assert!(mail.text.contains("四川省分会场、西藏自治区分会场"));
        assert!(digest(&event, &deadline, &[], "https://hc.example.cn").subject.contains("全部按时完成"));
    }

    #[test]
    fn every_letter_ends_with_whom_to_call() {
        let (mut event, deadline, venue) = ceremony();
        let reminder = venue_notice(&event, &deadline, &venue, deadline.notices()[0], LINK);
        assert!(!reminder.text.contains("如有问题请联系"), "no contacts, no line");
        event.event.contacts = vec![huichang_core::event::Contact {
            role: "技术联系人".into(),
            name: "付宇豪".into(),
            phone: "18500219116".into(),
        }];
        let reminder = venue_notice(&event, &deadline, &venue, deadline.notices()[0], LINK);
        assert!(reminder.text.contains("如有问题请联系：技术联系人 付宇豪 18500219116"), "{}", reminder.text);
        assert!(reminder.text.contains("Questions: 技术联系人 付宇豪 18500219116"));
        assert!(digest(&event, &deadline, &[&venue], "https://hc.example.cn").text.contains("付宇豪"));
    }

    #[test]
    fn another_zone_is_named_as_it_is() {
        let (mut event, deadline, venue) = ceremony();
        event.event.timezone = chrono_tz::Europe::Berlin;
        let mail = venue_notice(&event, &deadline, &venue, deadline.notices()[0], LINK);
        assert!(mail.subject.contains("（Europe/Berlin）") && !mail.text.contains("北京时间"), "{}", mail.subject);
    }

    fn liaoning() -> (UnitContact, UnitDeadline, UnitContact) {
        let created = Utc.with_ymd_and_hms(2020, 10, 10, 0, 0, 0).unwrap();
        let contact = |name: &str| UnitContact {
            id: Uuid::nil(),
            name: name.into(),
            contact_email: "ln@example.cn".into(),
            created_at: created,
        };
        let input: huichang_core::unit_deadline::UnitDeadlineInput = serde_json::from_value(serde_json::json!({
            "title": "活动周工作方案及展板材料", "due_at": "2020-10-21T17:00:00+08:00", "remind_before": ["72h"],
            "requires": {"text_min_chars": 300, "photos_min": 2, "caption_max_chars": 10}}))
        .unwrap();
        let new = input.validate().unwrap();
        let deadline = UnitDeadline {
            id: Uuid::nil(),
            unit_id: Uuid::nil(),
            created_at: created,
            deadline: new.deadline,
            requires: new.requires,
        };
        (contact("辽宁省教育厅"), deadline, contact("大连市教育局"))
    }

    #[test]
    fn a_unit_reminder_names_the_setter_the_deadline_and_its_rules() {
        let (setter, deadline, city) = liaoning();
        let mail = unit_notice(&setter, &deadline, &city, deadline.deadline.notices()[0], "https://hc.example.cn");
        assert!(
            mail.subject
                .starts_with("【提醒】辽宁省教育厅：活动周工作方案及展板材料将于2020年10月21日 17:00（北京时间）截止"),
            "{}",
            mail.subject
        );
        let (zh, en) = mail.text.split_once("----").unwrap();
        assert!(zh.contains("大连市教育局：") && zh.contains("贵单位尚未报送"), "{zh}");
        assert!(zh.contains("文字材料不少于300字；照片不少于2张；每张照片配文（文件名）不超过10字"), "{zh}");
        assert!(
            en.contains("at least 2 photos") && en.contains("/units/00000000-0000-0000-0000-000000000000/deadlines")
        );
        let overdue = unit_notice(&setter, &deadline, &city, deadline.deadline.notices()[1], "https://hc.example.cn");
        assert!(overdue.subject.starts_with("【逾期】"), "{}", overdue.subject);
    }

    #[test]
    fn the_unit_digest_names_exactly_the_missing_units() {
        let (setter, deadline, city) = liaoning();
        let other = UnitContact { name: "朝阳市教育局".into(), ..city.clone() };
        let mail = unit_digest(&setter, &deadline, &[&city, &other], "https://hc.example.cn");
        assert!(mail.subject.contains("2个单位未报送"), "{}", mail.subject);
        assert!(mail.text.contains("大连市教育局、朝阳市教育局"));
        assert!(unit_digest(&setter, &deadline, &[], "https://hc.example.cn").subject.contains("全部按时报送"));
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(escape("<img src=x onerror=\"alert(1)\">&"), "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;");
    }
}
