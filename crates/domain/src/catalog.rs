//! The catalog as customers see it: stores and their menus. These are the
//! shapes that travel from the server to the browser; the store context
//! (`crates/catalog`) fills them from its tables.

use crate::limits;
use crate::problem::{Problem, TextField};
use crate::text::{clean_text, FieldError};
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

    /// The database column's value: `NULL` for unlimited.
    pub fn column(self) -> Option<i64> {
        match self {
            Stock::Unlimited => None,
            Stock::Limited(n) => Some(i64::from(n)),
        }
    }

    /// Parses an owner's entry: empty for unlimited, else a whole number of
    /// units, 0..=[`limits::MAX_STOCK`]. Errors name the field `stock`.
    pub fn parse(input: &str) -> Result<Stock, FieldError> {
        let input = input.trim();
        if input.is_empty() {
            return Ok(Stock::Unlimited);
        }
        match input.parse::<i64>() {
            Ok(n) if (0..=limits::MAX_STOCK).contains(&n) => Ok(Stock::Limited(u32::try_from(n).unwrap_or(0))),
            _ => Err(FieldError::new("stock", Problem::StockRange { max: limits::MAX_STOCK })),
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
    /// The cuisine or trade shown under the name, e.g. "치킨".
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

    /// Why `quantity` of this item cannot be ordered now, if so (requirement
    /// F8: ordering more than is in stock is an error).
    pub fn problem_with(&self, quantity: i64) -> Option<Problem> {
        if !self.available() {
            return Some(Problem::SoldOut {
                item: self.name.clone(),
            });
        }
        match self.stock {
            Stock::Limited(left) if i64::from(left) < quantity => Some(Problem::OnlyLeft {
                item: self.name.clone(),
                left,
            }),
            _ => None,
        }
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

/// Parses an owner's price: a whole number of won, commas allowed,
/// 0..=[`limits::MAX_PRICE_WON`]. Errors name the field `price`.
pub fn parse_price(input: &str) -> Result<Money, FieldError> {
    match input.trim().replace(',', "").parse::<i64>() {
        Ok(won) if (0..=limits::MAX_PRICE_WON).contains(&won) => Money::from_won(won).map_err(|_| {
            FieldError::new(
                "price",
                Problem::PriceRange {
                    max: limits::MAX_PRICE_WON,
                },
            )
        }),
        Ok(_) => Err(FieldError::new(
            "price",
            Problem::PriceRange {
                max: limits::MAX_PRICE_WON,
            },
        )),
        Err(_) => Err(FieldError::new("price", Problem::WholeNumber)),
    }
}

/// A menu item to add (the owner's form, the demo data), parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMenuItem {
    /// Menu section, 1..=[`limits::MENU_SECTION_CHARS`].
    pub category: String,
    /// Name, 1..=[`limits::MENU_ITEM_NAME_CHARS`].
    pub name: String,
    /// Description, at most [`limits::MENU_ITEM_DESCRIPTION_CHARS`]; may be empty.
    pub description: String,
    /// Price in won.
    pub price: Money,
    /// Units in stock.
    pub stock: Stock,
    /// Marked sold out.
    pub sold_out: bool,
}

impl NewMenuItem {
    /// Parses the owner's add-item form, naming every field to correct.
    pub fn parse(
        category: &str,
        name: &str,
        description: &str,
        price: &str,
        stock: &str,
    ) -> Result<NewMenuItem, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut text = |value: &str, field: &str, label: TextField, max: usize, required: bool| {
            if !required && value.trim().is_empty() {
                return String::new();
            }
            clean_text(value, label, max, false).unwrap_or_else(|e| {
                errors.push(FieldError::new(field, e));
                String::new()
            })
        };
        let category = text(
            category,
            "category",
            TextField::Category,
            limits::MENU_SECTION_CHARS,
            true,
        );
        let name = text(name, "name", TextField::ItemName, limits::MENU_ITEM_NAME_CHARS, true);
        let description = text(
            description,
            "description",
            TextField::Description,
            limits::MENU_ITEM_DESCRIPTION_CHARS,
            false,
        );
        let price = parse_price(price).map_err(|e| errors.push(e)).ok();
        let stock = Stock::parse(stock).map_err(|e| errors.push(e)).ok();
        match (price, stock) {
            (Some(price), Some(stock)) if errors.is_empty() => Ok(NewMenuItem {
                category,
                name,
                description,
                price,
                stock,
                sold_out: false,
            }),
            _ => Err(errors),
        }
    }
}

/// What an owner may change about a menu item (issue 4, menu management;
/// issue 11: the name too), parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemChange {
    /// The new name, when the form sent one (at most
    /// [`limits::MENU_ITEM_NAME_CHARS`] characters); `None` keeps the name.
    pub name: Option<String>,
    /// Price in won.
    pub price: Money,
    /// Units in stock.
    pub stock: Stock,
    /// Marked sold out, whatever the stock says.
    pub sold_out: bool,
}

impl ItemChange {
    /// Parses the owner's item form, naming every field to correct. `name`
    /// is optional (older forms send none); when sent it must not be empty.
    pub fn parse(name: Option<&str>, price: &str, stock: &str, sold_out: bool) -> Result<ItemChange, Vec<FieldError>> {
        let mut errors = Vec::new();
        let name = name.and_then(|n| {
            clean_text(n, TextField::ItemName, limits::MENU_ITEM_NAME_CHARS, false)
                .map_err(|e| errors.push(FieldError::new("name", e)))
                .ok()
        });
        let price = parse_price(price).map_err(|e| errors.push(e)).ok();
        let stock = Stock::parse(stock).map_err(|e| errors.push(e)).ok();
        match (price, stock) {
            (Some(price), Some(stock)) if errors.is_empty() => Ok(ItemChange {
                name,
                price,
                stock,
                sold_out,
            }),
            _ => Err(errors),
        }
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

    #[test]
    fn an_owners_menu_item_parses_or_names_its_fields() {
        let item = NewMenuItem::parse(" 사이드 ", "치즈볼", "", "4,000", "10").expect("valid");
        assert_eq!(
            (item.category.as_str(), item.price.won(), item.stock),
            ("사이드", 4_000, Stock::Limited(10))
        );
        assert_eq!(
            NewMenuItem::parse("a", "b", "", "0", "").map(|i| i.stock),
            Ok(Stock::Unlimited)
        );
        let fields = |r: Result<NewMenuItem, Vec<FieldError>>| -> Vec<String> {
            r.err().unwrap_or_default().into_iter().map(|f| f.field).collect()
        };
        assert_eq!(
            fields(NewMenuItem::parse(
                "",
                &"n".repeat(limits::MENU_ITEM_NAME_CHARS + 1),
                "",
                "-1",
                "x"
            )),
            ["category", "name", "price", "stock"]
        );
        assert_eq!(
            fields(NewMenuItem::parse(
                "a",
                "b",
                "",
                &(limits::MAX_PRICE_WON + 1).to_string(),
                &(limits::MAX_STOCK + 1).to_string()
            )),
            ["price", "stock"]
        );
    }

    #[test]
    fn an_item_change_parses_price_stock_and_sold_out() {
        let change = ItemChange::parse(None, "18000", "", true).expect("valid");
        assert_eq!(
            (
                change.name.as_deref(),
                change.price.won(),
                change.stock,
                change.sold_out
            ),
            (None, 18_000, Stock::Unlimited, true)
        );
        let renamed = ItemChange::parse(Some("  양념 반 후라이드 반 "), "18000", "5", false).expect("valid");
        assert_eq!(renamed.name.as_deref(), Some("양념 반 후라이드 반"));
        let errors = ItemChange::parse(Some("   "), "abc", "-3", false)
            .err()
            .unwrap_or_default();
        assert_eq!(
            errors.iter().map(|f| f.field.as_str()).collect::<Vec<_>>(),
            ["name", "price", "stock"]
        );
        let long = "가".repeat(limits::MENU_ITEM_NAME_CHARS + 1);
        assert!(ItemChange::parse(Some(&long), "1000", "", false).is_err());
        assert_eq!(Stock::Limited(7).column(), Some(7));
        assert_eq!(Stock::Unlimited.column(), None);
    }
}
