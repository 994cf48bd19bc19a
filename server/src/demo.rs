//! Demo data: seeded into an empty database on first start when `APP_DEMO` is on.

use accounts::{hash_password, NewUser};
use db::Db;
use domain::{DeliveryType, Role};

/// The password of every demo account. Printed at startup in demo mode only.
pub const DEMO_PASSWORD: &str = "demo1234";

/// A demo account that is not a store owner (owners come with their stores).
struct DemoAccount {
    email: &'static str,
    name: &'static str,
    role: Role,
    vehicle: Option<DeliveryType>,
}

const ACCOUNTS: &[DemoAccount] = &[
    DemoAccount {
        email: "minjun@demo.delivery",
        name: "김민준",
        role: Role::Customer,
        vehicle: None,
    },
    DemoAccount {
        email: "seoyeon@demo.delivery",
        name: "이서연",
        role: Role::Customer,
        vehicle: None,
    },
    DemoAccount {
        email: "rider.walk@demo.delivery",
        name: "도보 라이더 정우",
        role: Role::Rider,
        vehicle: Some(DeliveryType::Walking),
    },
    DemoAccount {
        email: "rider.bike@demo.delivery",
        name: "자전거 라이더 하은",
        role: Role::Rider,
        vehicle: Some(DeliveryType::Bicycle),
    },
    DemoAccount {
        email: "rider.moto@demo.delivery",
        name: "오토바이 라이더 지호",
        role: Role::Rider,
        vehicle: Some(DeliveryType::Motorbike),
    },
    DemoAccount {
        email: "rider.moto2@demo.delivery",
        name: "오토바이 라이더 수아",
        role: Role::Rider,
        vehicle: Some(DeliveryType::Motorbike),
    },
    DemoAccount {
        email: "admin@demo.delivery",
        name: "운영자",
        role: Role::Admin,
        vehicle: None,
    },
];

/// Seeds the demo catalog and accounts when the database has no store yet.
/// Everything goes in one transaction: a crash mid-seed leaves an empty
/// database that the next start seeds again. Returns whether it seeded.
pub async fn seed_if_empty(db: &Db) -> anyhow::Result<bool> {
    if catalog::store_count(db).await? > 0 {
        return Ok(false);
    }
    let stores = catalog::demo::stores();
    // Hash before the transaction: hashing is slow and must not hold the write lock.
    let mut hashes = Vec::new();
    for _ in 0..(ACCOUNTS.len() + stores.len()) {
        hashes.push(hash_password(DEMO_PASSWORD).await?);
    }
    let mut hashes = hashes.into_iter();
    let mut tx = db.begin().await?;
    for account in ACCOUNTS {
        let hash = hashes.next().ok_or_else(|| anyhow::anyhow!("missing hash"))?;
        accounts::create_user(
            &mut tx,
            NewUser {
                email: account.email,
                display_name: account.name,
                role: account.role,
                vehicle: account.vehicle,
                password_hash: &hash,
            },
        )
        .await?;
    }
    for demo in &stores {
        let hash = hashes.next().ok_or_else(|| anyhow::anyhow!("missing hash"))?;
        let owner = accounts::create_user(
            &mut tx,
            NewUser {
                email: demo.owner_email,
                display_name: demo.owner_name,
                role: Role::Owner,
                vehicle: None,
                password_hash: &hash,
            },
        )
        .await?;
        let store = catalog::create_store(&mut tx, owner, &demo.store).await?;
        for (position, item) in demo.items.iter().enumerate() {
            catalog::add_menu_item(&mut tx, store, i64::try_from(position)?, item).await?;
        }
    }
    tx.commit().await?;
    Ok(true)
}

/// The demo canteen's staff cards (seed 003): each employee number bound
/// to one demo customer's account.
pub const CANTEEN_STAFF: &[(&str, &str)] = &[
    ("SK-1001", "minjun@demo.delivery"),
    ("SK-1002", "seoyeon@demo.delivery"),
];

/// The demo canteen's owner, whose store the staff cards belong to.
const CANTEEN_OWNER: &str = "owner.canteen@demo.delivery";

/// Puts the demo customers on the demo canteen's roster when it has none
/// yet (also on a database seeded by a build before payroll deduction).
/// Returns whether it enrolled anyone.
pub async fn seed_roster_if_empty(db: &Db) -> anyhow::Result<bool> {
    let Some((owner, _)) = accounts::find_by_email(db, CANTEEN_OWNER).await? else {
        return Ok(false);
    };
    let Some(canteen) = catalog::stores_of_owner(db, owner.id)
        .await?
        .into_iter()
        .find(|s| s.kind == domain::StoreKind::Canteen)
    else {
        return Ok(false);
    };
    if payment::payroll::roster_size(db, canteen.id).await? > 0 {
        return Ok(false);
    }
    let mut tx = db.begin().await?;
    for (number, email) in CANTEEN_STAFF {
        if let Some((user, _)) = accounts::find_by_email(db, email).await? {
            payment::payroll::enrol(&mut tx, canteen.id, number, user.id, &user.display_name).await?;
        }
    }
    tx.commit().await?;
    Ok(true)
}

/// The demo accounts as a table for the startup banner.
pub fn accounts_banner() -> String {
    let mut lines = vec![format!("Demo accounts (password for all: {DEMO_PASSWORD}):")];
    for a in ACCOUNTS {
        let role = match a.vehicle {
            Some(v) => format!("{} ({})", a.role.label(), v.as_str()),
            None => a.role.label().to_string(),
        };
        lines.push(format!("  {:<28} {:<20} {}", a.email, role, a.name));
    }
    for s in catalog::demo::stores() {
        lines.push(format!(
            "  {:<28} {:<20} {}",
            s.owner_email, "Store owner", s.store.name
        ));
    }
    let cards: Vec<String> = CANTEEN_STAFF
        .iter()
        .map(|(number, email)| format!("{number} ({email})"))
        .collect();
    lines.push(format!("Canteen staff cards (payroll deduction): {}", cards.join(", ")));
    lines.join("\n")
}
