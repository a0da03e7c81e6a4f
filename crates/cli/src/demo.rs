//! The demo: the 2021 national opening ceremony of 全民终身学习活动周, a main venue and its 37
//! branch venues, with the dates moved so that the registration deadline is a few hours ahead;
//! and the week as a tree: 教育部 holds the national opening, each of the 37 provincial units
//! runs its branch venue, 四川 and 辽宁 have cities below them, and 四川省教育厅 holds Sichuan's
//! own opening in Panzhihua; 辽宁省教育厅 has set its 14 cities the four deadlines of its 2020
//! notice.

use anyhow::Context;
use chrono::{DateTime, Duration, DurationRound, Utc};
use huichang_core::deadline::DeadlineInput;
use huichang_core::delegation::DelegationInput;
use huichang_core::event::EventInput;
use huichang_core::registration::{self, Submission};
use huichang_core::role::Role;
use huichang_core::unit_deadline::UnitDeadlineInput;
use huichang_core::venue::{ApprovalInput, VenueInput};
use huichang_server::auth::{hash_token, new_token};
use huichang_store::{Actor, NewFile, Store, VenueTokens};
use serde_json::json;
use uuid::Uuid;

/// The 37 branch venues: (unit, its education department, region, mail name).
const BRANCHES: [(&str, &str, &str, &str); 37] = [
    ("北京市", "北京市教委", "北京", "beijing"),
    ("天津市", "天津市教委", "天津", "tianjin"),
    ("河北省", "河北省教育厅", "河北", "hebei"),
    ("山西省", "山西省教育厅", "山西", "shanxi"),
    ("内蒙古自治区", "内蒙古自治区教育厅", "内蒙古", "neimenggu"),
    ("辽宁省", "辽宁省教育厅", "辽宁", "liaoning"),
    ("吉林省", "吉林省教育厅", "吉林", "jilin"),
    ("黑龙江省", "黑龙江省教育厅", "黑龙江", "heilongjiang"),
    ("上海市", "上海市教委", "上海", "shanghai"),
    ("江苏省", "江苏省教育厅", "江苏", "jiangsu"),
    ("浙江省", "浙江省教育厅", "浙江", "zhejiang"),
    ("安徽省", "安徽省教育厅", "安徽", "anhui"),
    ("福建省", "福建省教育厅", "福建", "fujian"),
    ("江西省", "江西省教育厅", "江西", "jiangxi"),
    ("山东省", "山东省教育厅", "山东", "shandong"),
    ("河南省", "河南省教育厅", "河南", "henan"),
    ("湖北省", "湖北省教育厅", "湖北", "hubei"),
    ("湖南省", "湖南省教育厅", "湖南", "hunan"),
    ("广东省", "广东省教育厅", "广东", "guangdong"),
    ("广西壮族自治区", "广西壮族自治区教育厅", "广西", "guangxi"),
    ("海南省", "海南省教育厅", "海南", "hainan"),
    ("重庆市", "重庆市教委", "重庆", "chongqing"),
    ("四川省", "四川省教育厅", "四川", "sichuan"),
    ("贵州省", "贵州省教育厅", "贵州", "guizhou"),
    ("云南省", "云南省教育厅", "云南", "yunnan"),
    ("西藏自治区", "西藏自治区教育厅", "西藏", "xizang"),
    ("陕西省", "陕西省教育厅", "陕西", "shaanxi"),
    ("甘肃省", "甘肃省教育厅", "甘肃", "gansu"),
    ("青海省", "青海省教育厅", "青海", "qinghai"),
    ("宁夏回族自治区", "宁夏回族自治区教育厅", "宁夏", "ningxia"),
    ("新疆维吾尔自治区", "新疆维吾尔自治区教育厅", "新疆", "xinjiang"),
    ("大连市", "大连市教育局", "大连", "dalian"),
    ("青岛市", "青岛市教育局", "青岛", "qingdao"),
    ("宁波市", "宁波市教育局", "宁波", "ningbo"),
    ("厦门市", "厦门市教育局", "厦门", "xiamen"),
    ("深圳市", "深圳市教育局", "深圳", "shenzhen"),
    ("新疆生产建设兵团", "新疆生产建设兵团教育局", "兵团", "bingtuan"),
];

/// Branch venues whose lists are already in; the last one was accepted late by the organiser.
const SUBMITTED: [&str; 6] = ["北京", "上海", "江苏", "浙江", "四川", "广东"];
const LATE: &str = "西藏";
/// Branch venues still waiting for their local approval.
const PENDING: [&str; 7] = ["内蒙古", "黑龙江", "西藏", "青海", "宁夏", "新疆", "兵团"];

pub struct Loaded {
    pub event_id: Uuid,
    pub title: String,
    pub venues: Vec<DemoVenue>,
    /// The units whose organiser links are printed: the root, 四川, 攀枝花, 辽宁.
    pub units: Vec<DemoUnit>,
    /// Sichuan's own opening, held by 四川省教育厅.
    pub provincial_event_id: Uuid,
    /// The first delegation in Panzhihua's hall: its id and its coordinator's token.
    pub delegation: (Uuid, String),
}

pub struct DemoUnit {
    pub name: String,
    /// In shell variables: `MINISTRY`, `SICHUAN`, `PANZHIHUA`, `LIAONING`.
    pub slug: String,
    pub id: Uuid,
    pub organiser_token: String,
}

/// Cities below 四川: (province region, unit, region).
const CITIES: [(&str, &str, &str); 3] = [
    ("四川", "攀枝花市教育和体育局", "攀枝花"),
    ("四川", "成都市教育局", "成都"),
    ("四川", "绵阳市教育和体育局", "绵阳"),
];

/// Liaoning's fourteen cities, each owing the four obligations of its 2020 notice.
const LIAONING_CITIES: [(&str, &str); 14] = [
    ("沈阳", "shenyang"),
    ("大连", "dl"),
    ("鞍山", "anshan"),
    ("抚顺", "fushun"),
    ("本溪", "benxi"),
    ("丹东", "dandong"),
    ("锦州", "jinzhou"),
    ("营口", "yingkou"),
    ("阜新", "fuxin"),
    ("辽阳", "liaoyang"),
    ("盘锦", "panjin"),
    ("铁岭", "tieling"),
    ("朝阳", "chaoyang"),
    ("葫芦岛", "huludao"),
];

/// Liaoning's four obligations of each city (2020: 21 Oct, 25 Oct, 1 Dec, 10 Dec), moved so
/// that the demo shows each state: (title, due in hours from now, how many cities have sent it).
/// The first passed five days ago and its cities sent late or not at all; the second is due in
/// two hours with six sent on time; the last two are ahead.
const LIAONING_DEADLINES: [(&str, i64, usize); 4] =
    [("活动周工作方案及展板材料", -120, 9), ("典型案例", 2, 6), ("各市开幕式情况", 96, 3), ("活动周工作总结", 312, 0)];

/// A city's work plan: more than the 300 characters the notice asks for.
const WORK_PLAN: &str = "按照《辽宁省教育厅关于举办2020年全民终身学习活动周的通知》要求，我市将于10月下旬至12月上旬组织开展全民终身学习活动周系列活动。\
一是成立由市教育局牵头、各相关部门参与的活动周组委会，明确职责分工，统筹推进各项工作。\
二是举办全市活动周开幕式，集中展示社区教育、老年教育、职业培训等方面的成果，表彰“百姓学习之星”和“终身学习品牌项目”。\
三是依托社区学院、社区学校和老年大学，组织开展读书分享、技能培训、非遗体验、健康讲座等学习活动，线上线下同步进行。\
四是制作展板，展示我市推进学习型城市建设的经验做法和典型案例。\
五是加强宣传，通过报纸、电视、网站和新媒体平台广泛宣传活动周，营造人人皆学、处处能学、时时可学的良好氛围。\
活动结束后，我市将认真总结，按时报送工作总结和相关材料。";

/// A unit of the demo with its first organiser token.
async fn unit(
    store: &dyn Store,
    parent: Option<Uuid>,
    name: &str,
    region: &str,
    slug: &str,
    actor: &Actor,
) -> anyhow::Result<DemoUnit> {
    let input: huichang_core::unit::UnitInput = serde_json::from_value(json!({
        "name": name, "region": region,
        "contact": {"name": "王立", "phone": "010-66096114", "email": format!("{}@example.cn", slug.to_lowercase())}
    }))?;
    let new = input.validate().map_err(|e| anyhow::anyhow!("demo unit: {e:?}"))?;
    let token = new_token(Role::Organiser);
    let created = store.create_unit(parent, &new, &hash_token(&token), actor).await?;
    Ok(DemoUnit { name: created.name, slug: slug.to_uppercase(), id: created.id, organiser_token: token })
}

pub struct DemoVenue {
    pub name: String,
    /// The venue's name in shell variables: `SICHUAN`, `MAIN`.
    pub slug: String,
    pub id: Uuid,
    pub coordinator_token: String,
    pub technician_token: String,
}

pub async fn load(store: &dyn Store, now: DateTime<Utc>) -> anyhow::Result<Loaded> {
    let actor = Actor::command_line();
    // 2021: deadline 20 Nov 16:00, video check 22 Nov 09:30–11:30, opening 23 Nov 10:00–11:30.
    let deadline = now.duration_trunc(Duration::hours(1)).unwrap_or(now) + Duration::hours(4);
    let at = |hours: i64, minutes: i64| (deadline + Duration::hours(hours) + Duration::minutes(minutes)).to_rfc3339();
    let title = "2021年全民终身学习活动周全国总开幕式（演示）".to_owned();
    let input: EventInput = serde_json::from_value(json!({
        "title": title, "timezone": "Asia/Shanghai",
        "starts_at": at(66, 0), "ends_at": at(67, 30), "arrive_minutes_before": 15,
        "registration_deadline": deadline.to_rfc3339(),
        "video_check": {"starts_at": at(41, 30), "ends_at": at(43, 30)},
        "default_capacity": 30, "organizer_email": "org@example.cn"
    }))?;
    let ministry = unit(store, None, "教育部职业教育与成人教育司", "全国", "ministry", &actor).await?;
    let mut provinces = std::collections::HashMap::new();
    for (_, department, region, mail) in BRANCHES {
        provinces.insert(region, unit(store, Some(ministry.id), department, region, mail, &actor).await?);
    }
    let mut cities = Vec::new();
    for (province, name, region) in CITIES {
        let slug = if region == "攀枝花" { "panzhihua" } else { "city" };
        cities.push(unit(store, Some(provinces[province].id), name, region, slug, &actor).await?);
    }
    let event = store
        .create_event(Some(ministry.id), &input.validate().map_err(|e| anyhow::anyhow!("demo event: {e:?}"))?, &actor)
        .await?;
    // A deliverable whose first reminder goes out ten minutes after the demo starts.
    let plan: DeadlineInput = serde_json::from_value(json!({
        "kind": "deliverable", "title": "活动周工作方案及展板材料",
        "due_at": (now + Duration::minutes(130)).to_rfc3339(), "remind_before": ["2h"]
    }))?;
    let plan = plan.validate().map_err(|e| anyhow::anyhow!("demo deadline: {e:?}"))?;
    let plan = store.create_deadline(event.id, &plan, &actor).await?;

    let mut venues = Vec::new();
    let main: VenueInput = serde_json::from_value(json!({
        "name": "主会场", "kind": "main", "region": "教育部", "contact_email": "main@example.cn",
        "rooms": [{"name": "教育部报告厅", "capacity": 30}]
    }))?;
    venues.push(create(store, event.id, main, "main", &actor).await?);
    for (unit, department, region, mail) in BRANCHES {
        let input: VenueInput = serde_json::from_value(json!({
            "name": format!("{unit}分会场"), "kind": "branch", "region": region,
            "contact_email": format!("{mail}@example.cn"),
            "rooms": [{"name": format!("{department}视频会议室"), "capacity": 30}],
            "unit_id": provinces[region].id.to_string()
        }))?;
        let venue = create(store, event.id, input, mail, &actor).await?;
        let venue_id = venue.id;
        if !PENDING.contains(&region) {
            let approval: ApprovalInput = serde_json::from_value(
                json!({"status": "approved", "authority": department, "reference": format!("{region}教函〔2021〕{}号", 100 + venues.len())}),
            )?;
            store
                .record_approval(venue_id, &approval.validate().map_err(|e| anyhow::anyhow!("{e:?}"))?, &actor)
                .await?;
        }
        if SUBMITTED.contains(&region) || region == LATE {
            store
                .submit_registration(venue_id, &list(department, venues.len()), region == LATE, &actor)
                .await
                .context("demo list")?;
        }
        // 四川 has sent its work plan with two photos, for the organisers to open and review.
        if region == "四川" {
            let text = format!(
                "{department}活动周工作方案：全省各市（州）同步举办开幕式，攀枝花市承办全省开幕式。展板照片见附件。"
            );
            store
                .submit_venue(&plan, venue_id, &text, &photos(store).await?, &actor)
                .await
                .context("demo deliverable")?;
        }
        venues.push(venue);
    }
    national_show(store, now, event.id, &venues, &actor).await?;
    let (provincial, delegation) = provincial_opening(store, now, provinces["四川"].id, &cities[0], &actor).await?;
    liaoning_2020(store, now, provinces["辽宁"].id, &actor).await?;
    let sichuan = provinces.remove("四川").context("四川 is a province")?;
    let liaoning = provinces.remove("辽宁").context("辽宁 is a province")?;
    let panzhihua = cities.swap_remove(0);
    Ok(Loaded {
        event_id: event.id,
        title,
        venues,
        units: vec![ministry, sichuan, panzhihua, liaoning],
        provincial_event_id: provincial,
        delegation,
    })
}

/// One item of a demo programme: (title, kind, minutes from now, length, venue on air, speaker).
type Programme<'a> = [(&'a str, &'a str, i64, i64, Option<Uuid>, &'a str)];

/// Sends `items` as the event's agenda, then starts the first `running` of them at their
/// planned times, so that the show is under way when the demo opens.
async fn programme(
    store: &dyn Store,
    now: DateTime<Utc>,
    event: Uuid,
    items: &Programme<'_>,
    running: usize,
    actor: &Actor,
) -> anyhow::Result<()> {
    let input = huichang_core::agenda::AgendaInput {
        items: Some(
            items
                .iter()
                .map(|(title, kind, from_now, minutes, venue, speaker)| huichang_core::agenda::ItemInput {
                    title: Some((*title).into()),
                    kind: Some((*kind).into()),
                    planned_start: Some((now + Duration::minutes(*from_now)).to_rfc3339()),
                    minutes: Some(*minutes as u32),
                    venue_id: venue.map(|v| v.to_string()),
                    speaker: Some((*speaker).into()),
                    id: None,
                })
                .collect(),
        ),
    };
    let venues: Vec<Uuid> = items.iter().filter_map(|i| i.4).collect();
    let new = input.validate(&venues).map_err(|e| anyhow::anyhow!("demo agenda: {e:?}"))?;
    let mut agenda = store.change_agenda(event, huichang_store::AgendaChange::Replace(new), now, actor).await?;
    for (_, _, from_now, ..) in &items[..running] {
        let from =
            agenda.iter().find(|item| item.status == huichang_core::agenda::ItemStatus::Live).map(|item| item.id);
        let at = huichang_core::event::truncate(now + Duration::minutes(*from_now));
        agenda = store.change_agenda(event, huichang_store::AgendaChange::Advance { from }, at, actor).await?;
    }
    Ok(())
}

/// The national opening on the air: 四川省分会场 is live, 北京市分会场 is next.
async fn national_show(
    store: &dyn Store,
    now: DateTime<Utc>,
    event: Uuid,
    venues: &[DemoVenue],
    actor: &Actor,
) -> anyhow::Result<()> {
    let venue = |name: &str| venues.iter().find(|v| v.name == name).map(|v| v.id);
    let items: &Programme<'_> = &[
        ("主持人介绍出席领导及嘉宾", "speech", -12, 5, None, "主持人"),
        ("播放全民终身学习活动周宣传片", "video", -7, 5, None, ""),
        ("四川省分会场连线：攀枝花社区教育", "link", -2, 6, venue("四川省分会场"), ""),
        ("北京市分会场连线：市民学习体验", "link", 4, 5, venue("北京市分会场"), ""),
        ("表彰“百姓学习之星”和“终身学习品牌项目”", "award", 9, 15, None, ""),
        ("教育部领导讲话", "speech", 24, 15, None, "教育部领导"),
        ("宣布活动周开幕", "other", 39, 3, None, "教育部领导"),
    ];
    programme(store, now, event, items, 3, actor).await
}

/// Sichuan's opening, held by 四川省教育厅 in 攀枝花学院大礼堂 (about 300 people), the city
/// running the hall, a week after the national one; delegations of other cities share the hall,
/// one complete, one short of its minimum, one that has sent nothing yet.
async fn provincial_opening(
    store: &dyn Store,
    now: DateTime<Utc>,
    sichuan: Uuid,
    panzhihua: &DemoUnit,
    actor: &Actor,
) -> anyhow::Result<(Uuid, (Uuid, String))> {
    let start = now.duration_trunc(Duration::hours(1)).unwrap_or(now) + Duration::days(7);
    let at = |hours: i64| (start + Duration::hours(hours)).to_rfc3339();
    let input: EventInput = serde_json::from_value(json!({
        "title": "2021年四川省暨攀枝花市全民终身学习活动周总开幕式（演示）", "timezone": "Asia/Shanghai",
        "starts_at": at(2), "ends_at": at(3), "arrive_minutes_before": 30,
        "registration_deadline": at(-72),
        "video_check": {"starts_at": at(-24), "ends_at": at(-22)},
        "default_capacity": 300, "organizer_email": "sc@example.cn"
    }))?;
    let new = input.validate().map_err(|e| anyhow::anyhow!("demo event: {e:?}"))?;
    let event = store.create_event(Some(sichuan), &new, actor).await?;
    let hall: VenueInput = serde_json::from_value(json!({
        "name": "攀枝花主会场", "kind": "main", "region": "攀枝花", "contact_email": "panzhihua@example.cn",
        "rooms": [{"name": "攀枝花学院大礼堂", "capacity": 300}], "unit_id": panzhihua.id.to_string()
    }))?;
    let hall = create(store, event.id, hall, "panzhihua_hall", actor).await?;
    // Its programme from the notice (10:00–11:30), starting twenty minutes from now.
    let items: &Programme<'_> = &[
        ("播放攀枝花市社区教育专题宣传片", "video", 20, 5, None, ""),
        ("社区教育成果展示（节目展演）", "performance", 25, 8, None, ""),
        ("主持人介绍出席领导及嘉宾", "speech", 33, 4, None, "主持人"),
        ("攀枝花市领导致辞", "speech", 37, 8, None, "攀枝花市领导"),
        ("社区教育师资风采展示（节目展演）", "performance", 45, 8, None, ""),
        ("表彰全国“百姓学习之星”和“终身学习品牌项目”", "award", 53, 10, None, ""),
        ("表彰四川省“百姓学习之星”等代表", "award", 63, 10, None, ""),
        ("社区教育非遗文化展示（节目展演）", "performance", 73, 8, None, ""),
        ("全国百姓学习之星代表发言", "speech", 81, 4, None, "百姓学习之星代表"),
        ("全国终身学习品牌项目代表发言", "speech", 85, 4, None, "品牌项目代表"),
        ("教育厅领导讲话", "speech", 89, 10, None, "四川省教育厅领导"),
        ("领导宣布活动周启动", "other", 99, 2, None, ""),
    ];
    programme(store, now, event.id, items, 0, actor).await?;
    let mut first = None;
    for (seed, (name, sent)) in [("成都市代表团", 8), ("德阳市代表团", 3), ("凉山州代表团", 0)].into_iter().enumerate()
    {
        let input: DelegationInput = serde_json::from_value(json!({
            "name": name, "min": 5, "max": 10, "contact_email": format!("delegation{seed}@example.cn")
        }))?;
        let new = input.validate(false).map_err(|e| anyhow::anyhow!("demo delegation: {e:?}"))?;
        let token = new_token(Role::Coordinator);
        let delegation = store.create_delegation(hall.id, &new, &hash_token(&token), actor).await?;
        if sent > 0 {
            let mut people = list(&name.replace("代表团", "教育局"), seed + 40);
            people.attendees.truncate(sent);
            store.submit_delegation_registration(&delegation, &people, false, actor).await?;
        }
        first.get_or_insert((delegation.id, token));
    }
    Ok((event.id, first.context("a delegation")?))
}

/// 辽宁省教育厅's fourteen cities and the four deadlines it set them, some met on time, some late,
/// some missed.
async fn liaoning_2020(store: &dyn Store, now: DateTime<Utc>, liaoning: Uuid, actor: &Actor) -> anyhow::Result<()> {
    let mut cities = Vec::new();
    for (region, mail) in LIAONING_CITIES {
        cities.push(unit(store, Some(liaoning), &format!("{region}市教育局"), region, mail, actor).await?.id);
    }
    for (i, (title, due_in_hours, sent)) in LIAONING_DEADLINES.into_iter().enumerate() {
        let requires =
            if i == 0 { json!({"text_min_chars": 300, "photos_min": 2, "caption_max_chars": 10}) } else { json!({}) };
        let input: UnitDeadlineInput = serde_json::from_value(json!({
            "title": title, "due_at": (now + Duration::hours(due_in_hours)).to_rfc3339(),
            "remind_before": ["72h", "24h", "1h"], "requires": requires
        }))?;
        let new = input.validate().map_err(|e| anyhow::anyhow!("demo unit deadline: {e:?}"))?;
        let deadline = store.create_unit_deadline(liaoning, &new, actor).await?;
        for city in cities.iter().take(sent) {
            let mut files = Vec::new();
            if i == 0 {
                files = photos(store).await?;
            }
            let text = if i == 0 {
                WORK_PLAN.to_owned()
            } else {
                format!("{title}已按通知要求报送，详见附件。")
            };
            store.submit_unit(&deadline, *city, &text, &files, actor).await.context("demo submission")?;
        }
    }
    Ok(())
}

/// The demo's two photos, stored as the files of a submission.
async fn photos(store: &dyn Store) -> anyhow::Result<Vec<NewFile>> {
    let mut files = Vec::new();
    for (name, bytes) in [
        ("开幕式现场.png", &include_bytes!("../demo/stage.png")[..]),
        ("社区课堂.png", &include_bytes!("../demo/classroom.png")[..]),
    ] {
        files.push(NewFile {
            name: name.into(),
            content_type: "image/png".into(),
            blob_id: huichang_store::put_blob(store, bytes).await?,
            size: bytes.len() as i64,
            head: bytes[..16].to_vec(),
        });
    }
    Ok(files)
}

async fn create(
    store: &dyn Store,
    event_id: Uuid,
    input: VenueInput,
    slug: &str,
    actor: &Actor,
) -> anyhow::Result<DemoVenue> {
    let path = huichang_server::api::venues::runner_path(store, &input).await?;
    let event_unit = store.event(event_id).await?.and_then(|e| e.unit_id);
    let runner = huichang_core::venue::Runner { path: path.as_deref(), event_unit };
    let venue = input.validate(30, runner).map_err(|e| anyhow::anyhow!("demo venue: {e:?}"))?;
    let coordinator = new_token(Role::Coordinator);
    let technician = new_token(Role::Technician);
    let tokens = VenueTokens { coordinator_hash: hash_token(&coordinator), technician_hash: hash_token(&technician) };
    let created = store.create_venue(event_id, &venue, &tokens, actor).await?;
    Ok(DemoVenue {
        name: created.name,
        slug: slug.to_uppercase(),
        id: created.id,
        coordinator_token: coordinator,
        technician_token: technician,
    })
}

/// A plausible list of 20–29 officials of one department, the same every time.
fn list(department: &str, seed: usize) -> Submission {
    const SURNAMES: [&str; 20] = [
        "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "高",
        "林", "罗",
    ];
    const GIVEN: [&str; 24] = [
        "立", "华", "敏", "静", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英", "丽", "霞",
        "平", "刚", "建华", "志强", "晓东", "海燕",
    ];
    const TITLES: [&str; 8] = ["厅长", "副厅长", "处长", "副处长", "一级调研员", "二级调研员", "主任科员", "科长"];
    let count = 20 + seed % 10;
    let attendees: Vec<_> = (0..count)
        .map(|i| {
            let n = seed * 31 + i * 7;
            json!({
                "name": format!("{}{}", SURNAMES[n % SURNAMES.len()], GIVEN[(n / 3 + i) % GIVEN.len()]),
                "organization": department,
                "title": TITLES[i % TITLES.len()],
                "phone": format!("13{}{:08}", 5 + seed % 5, seed * 1000 + i),
            })
        })
        .collect();
    let body =
        json!({"technician": {"name": "付宇豪", "phone": format!("185{:08}", 219_116 + seed)}, "attendees": attendees});
    registration::parse_submission(&body).expect("the demo lists are valid")
}

pub fn print(loaded: &Loaded, admin_token: &str, public_url: &str) {
    println!("\n{}  (event {})", loaded.title, loaded.event_id);
    println!("admin token: {admin_token}");
    println!("event:       {public_url}/api/v1/events/{}", loaded.event_id);
    println!("API reference: {public_url}/docs");
    println!("reminders: the first emails (a deliverable due in 2h10m) are written to data/mail in about 10 minutes\n");
    // Each link signs its holder in and opens the page; every venue's links work the same way.
    let sign_in = huichang_server::api::venues::sign_in_link;
    println!("pages (a link signs in with its token, then opens the page):");
    println!(
        "  dashboard (看板):           {}",
        sign_in(public_url, admin_token, &format!("/events/{}", loaded.event_id))
    );
    println!(
        "  run of show (议程):         {}",
        sign_in(public_url, admin_token, &format!("/events/{}/agenda", loaded.event_id))
    );
    if let Some(v) = loaded.venues.iter().find(|v| v.slug == "sichuan") {
        let link = |token: &str, page: &str| sign_in(public_url, token, &format!("/venues/{}{page}", v.id));
        println!("  四川 coordinator (联络人):  {}", link(&v.coordinator_token, ""));
        println!("  四川 door (签到):           {}", link(&v.coordinator_token, "/door"));
        println!("  四川 technician (技术人员): {}", link(&v.technician_token, "/video"));
    }
    println!("  any venue:                 {public_url}/signin?token=<its coordinator or technician token>\n");
    println!("the tree of units (an organiser's link opens its unit's overview):");
    for u in &loaded.units {
        println!("  {:<26} {}", u.name, sign_in(public_url, &u.organiser_token, &format!("/units/{}", u.id)));
    }
    if let Some(liaoning) = loaded.units.iter().find(|u| u.slug == "LIAONING") {
        println!(
            "  辽宁's deadlines for its 14 cities (报送任务): {}",
            sign_in(public_url, &liaoning.organiser_token, &format!("/units/{}/deadlines", liaoning.id))
        );
    }
    println!(
        "  四川's own opening: {}",
        sign_in(public_url, &loaded.units[1].organiser_token, &format!("/events/{}", loaded.provincial_event_id))
    );
    let (delegation, token) = &loaded.delegation;
    println!(
        "  成都市代表团 in Panzhihua's hall (代表团): {}\n",
        sign_in(public_url, token, &format!("/delegations/{delegation}"))
    );
    println!("{:<16} {:<36}  {:<68}  technician token", "venue", "id", "coordinator token");
    for v in &loaded.venues {
        println!("{:<16} {}  {}  {}", v.name, v.id, v.coordinator_token, v.technician_token);
    }
    println!();
}

/// Writes the demo's URL, ids and tokens as shell variables (`source data/demo.env`), readable
/// by its owner only, so that the README's walkthrough runs as written.
pub fn write_env(loaded: &Loaded, admin_token: &str, public_url: &str, path: &std::path::Path) -> anyhow::Result<()> {
    use std::fmt::Write;
    let mut env = format!("HC_URL={public_url}\nHC_ADMIN_TOKEN={admin_token}\nHC_EVENT={}\n", loaded.event_id);
    for u in &loaded.units {
        let _ = write!(env, "HC_UNIT_{slug}={}\nHC_ORGANISER_{slug}={}\n", u.id, u.organiser_token, slug = u.slug);
    }
    let _ = writeln!(env, "HC_PROVINCIAL_EVENT={}", loaded.provincial_event_id);
    let _ = writeln!(env, "HC_DELEGATION={}\nHC_DELEGATION_TOKEN={}", loaded.delegation.0, loaded.delegation.1);
    for v in &loaded.venues {
        let _ = write!(
            env,
            "HC_VENUE_{slug}={}\nHC_COORDINATOR_{slug}={}\nHC_TECHNICIAN_{slug}={}\n",
            v.id,
            v.coordinator_token,
            v.technician_token,
            slug = v.slug
        );
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    std::io::Write::write_all(&mut options.open(path)?, env.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    println!("the same as shell variables: source {}", path.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_lists_are_valid_and_fit_a_30_seat_room() {
        for seed in 0..40 {
            let list = list("四川省教育厅", seed);
            assert!((20..30).contains(&list.attendees.len()));
        }
    }

    #[test]
    fn there_are_31_provincial_units_5_plan_listed_cities_and_the_xpcc() {
        let regions: std::collections::HashSet<&str> = BRANCHES.iter().map(|b| b.2).collect();
        assert_eq!(regions.len(), 37);
        assert!(SUBMITTED.iter().chain([&LATE]).chain(PENDING.iter()).all(|r| regions.contains(r)));
    }
}
