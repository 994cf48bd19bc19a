//! The catalog as customers see it: stores and their menus. These are the
//! shapes that travel from the server to the browser; the store context
//! (`crates/catalog`) fills them from its tables.

use crate::{MenuItemId, Money, StoreId, StoreKind, StoreStatus};
use serde::{Deserialize, Serialize};

/// How many of a menu item are left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "left")]
pub enum Stock {
    /// Made to order; never runs out.
    Unlimited,
    /// This many units left (requirement F8); 0 means sold out.
    Limited(u32),
}

impl Stock {
    /// At or below this many units a menu shows "only N left".
    pub const LOW: u32 = 5;

    /// Builds a stock level from the database column: `NULL` means unlimited;
    /// a negative number (never written, but never trusted) counts as zero.
    pub fn from_column(value: Option<i64>) -> Stock {
        match value {
            None => Stock::Unlimited,
            Some(n) => Stock::Limited(u32::try_from(n.max(0)).unwrap_or(u32::MAX)),
        }
    }

    /// `Some(n)` when only a few (1..=[`Stock::LOW`]) are left.
    pub fn low(self) -> Option<u32> {
        match self {
            Stock::Limited(n) if (1..=Self::LOW).contains(&n) => Some(n),
            _ => None,
        }
    }
}

/// One store in the store list (`/`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreSummary {
    /// The store's id.
    pub id: StoreId,
    /// Display name, e.g. "황금올리브 치킨 역삼점".
    pub name: String,
    /// Restaurant, flower shop, canteen or repair shop.
    pub kind: StoreKind,
    /// The cuisine or trade shown under the name, e.g. "치킨 · Fried chicken".
    pub category: String,
    /// Street address.
    pub address: String,
    /// Open, paused or closed.
    pub status: StoreStatus,
    /// Usual minutes from accept to ready.
    pub default_prep_minutes: u16,
    /// Offers delivery by riders.
    pub offers_delivery: bool,
    /// Offers pickup at the store.
    pub offers_pickup: bool,
    /// Smallest order subtotal in won for delivery; 0 when there is none.
    pub min_order: Money,
}

/// One menu item as customers see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MenuItem {
    /// The item's id.
    pub id: MenuItemId,
    /// The menu section it appears under, e.g. "치킨" or "사이드".
    pub category: String,
    /// Korean name, e.g. "후라이드 치킨".
    pub name: String,
    /// Short English description.
    pub description: String,
    /// Price in won.
    pub price: Money,
    /// Units left.
    pub stock: Stock,
    /// Marked sold out by the owner, whatever the stock says.
    pub sold_out: bool,
}

impl MenuItem {
    /// Whether a customer can order this item now (not marked sold out, stock left).
    pub fn available(&self) -> bool {
        !self.sold_out && self.stock != Stock::Limited(0)
    }
}

/// One section of a menu: a category and its items in menu order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MenuSection {
    /// The category's name.
    pub category: String,
    /// Items of that category.
    pub items: Vec<MenuItem>,
}

/// A store with its whole menu (`/stores/{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreMenu {
    /// The store itself.
    pub store: StoreSummary,
    /// Sections in the order the store lists them.
    pub sections: Vec<MenuSection>,
}

impl StoreMenu {
    /// Groups `items` (already in menu order) into sections, keeping the order
    /// in which each category first appears.
    pub fn group(store: StoreSummary, items: Vec<MenuItem>) -> StoreMenu {
        let mut sections: Vec<MenuSection> = Vec::new();
        for item in items {
            match sections.iter_mut().find(|s| s.category == item.category) {
                Some(section) => section.items.push(item),
                None => sections.push(MenuSection {
                    category: item.category.clone(),
                    items: vec![item],
                }),
            }
        }
        StoreMenu { store, sections }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: i64, category: &str) -> MenuItem {
        MenuItem {
            id: MenuItemId(id),
            category: category.into(),
            name: format!("item {id}"),
            description: String::new(),
            price: Money::ZERO,
            stock: Stock::Unlimited,
            sold_out: false,
        }
    }

    #[test]
    fn grouping_keeps_first_appearance_order() {
        let store = StoreSummary {
            id: StoreId(1),
            name: "s".into(),
            kind: StoreKind::Restaurant,
            category: "c".into(),
            address: "a".into(),
            status: StoreStatus::Open,
            default_prep_minutes: 20,
            offers_delivery: true,
            offers_pickup: false,
            min_order: Money::ZERO,
        };
        let menu = StoreMenu::group(store, vec![item(1, "치킨"), item(2, "사이드"), item(3, "치킨")]);
        let shape: Vec<(String, Vec<i64>)> = menu
            .sections
            .iter()
            .map(|s| (s.category.clone(), s.items.iter().map(|i| i.id.0).collect()))
            .collect();
        assert_eq!(shape, vec![("치킨".into(), vec![1, 3]), ("사이드".into(), vec![2])]);
    }

    #[test]
    fn stock_levels() {
        assert_eq!(Stock::from_column(None), Stock::Unlimited);
        assert_eq!(Stock::from_column(Some(-4)), Stock::Limited(0));
        assert_eq!(Stock::Limited(3).low(), Some(3));
        assert_eq!(Stock::Limited(0).low(), None);
        assert_eq!(Stock::Limited(6).low(), None);
        let mut sold_out = item(1, "x");
        sold_out.stock = Stock::Limited(0);
        assert!(!sold_out.available());
        let mut flagged = item(2, "x");
        flagged.sold_out = true;
        assert!(!flagged.available());
        assert!(item(3, "x").available());
    }
}
