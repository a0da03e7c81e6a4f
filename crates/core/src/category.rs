//! Who a person is at the meeting (类别), and who of them moves online first when seats are cut.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Who a person is at the meeting. It decides who moves online first when seats are cut
/// ([`Category::moves_online`]); the people on the programme and those who run it never move.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// 领导
    Leader,
    /// 嘉宾
    Guest,
    /// 发言代表
    Speaker,
    /// 受表彰代表
    Awardee,
    /// 工作人员
    Staff,
    /// 媒体记者
    Press,
    /// 参会代表
    #[default]
    Delegate,
    /// 群众
    Public,
}

impl Category {
    pub const ALL: [Category; 8] = [
        Category::Leader,
        Category::Guest,
        Category::Speaker,
        Category::Awardee,
        Category::Staff,
        Category::Press,
        Category::Delegate,
        Category::Public,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Leader => "leader",
            Category::Guest => "guest",
            Category::Speaker => "speaker",
            Category::Awardee => "awardee",
            Category::Staff => "staff",
            Category::Press => "press",
            Category::Delegate => "delegate",
            Category::Public => "public",
        }
    }

    /// The word of the notices, as the template and the pages write it.
    pub fn chinese(self) -> &'static str {
        match self {
            Category::Leader => "领导",
            Category::Guest => "嘉宾",
            Category::Speaker => "发言代表",
            Category::Awardee => "受表彰代表",
            Category::Staff => "工作人员",
            Category::Press => "媒体记者",
            Category::Delegate => "参会代表",
            Category::Public => "群众",
        }
    }

    /// The code or the Chinese word (as typed into a receipt, with or without spaces).
    pub fn parse(text: &str) -> Option<Self> {
        let text: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        Category::ALL.into_iter().find(|c| c.as_str().eq_ignore_ascii_case(&text) || c.chinese() == text)
    }

    /// When seats are cut, the order in which people move online (0 first); `None` for those
    /// who never move: leaders, speakers, awardees and staff.
    pub fn moves_online(self) -> Option<u8> {
        match self {
            Category::Public => Some(0),
            Category::Delegate => Some(1),
            Category::Press => Some(2),
            Category::Guest => Some(3),
            Category::Leader | Category::Speaker | Category::Awardee | Category::Staff => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_category_is_read_as_its_code_or_the_notices_word() {
        for category in Category::ALL {
            assert_eq!(Category::parse(category.as_str()), Some(category));
            assert_eq!(Category::parse(category.chinese()), Some(category));
        }
        assert_eq!(Category::parse(" 受表彰 代表 "), Some(Category::Awardee));
        assert_eq!(Category::parse("PRESS"), Some(Category::Press));
        assert_eq!(Category::parse("观众"), None);
    }
}
