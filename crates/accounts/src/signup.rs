//! Creating an account from the sign-up form (issue 3, "Accounts").

use crate::{create_user, hash_password, AccountError, NewUser, User};
use db::Db;
use domain::email::Email;
use domain::problem::{Choice, Problem, TextField};
use domain::text::{clean_text, FieldError};
use domain::{DeliveryType, Role, StoreKind, UserId};

/// The sign-up form as submitted: every field untrusted text.
#[derive(Debug, Clone, Default)]
pub struct SignupForm {
    /// Login email.
    pub email: String,
    /// Name shown to stores and riders.
    pub display_name: String,
    /// 8 to 128 characters.
    pub password: String,
    /// `customer`, `owner` or `rider`.
    pub role: String,
    /// Riders: `walking`, `bicycle` or `motorbike`.
    pub vehicle: Option<String>,
    /// Owners: the first store's name.
    pub store_name: Option<String>,
    /// Owners: the first store's kind.
    pub store_kind: Option<String>,
    /// Owners: the first store's address.
    pub store_address: Option<String>,
}

/// A new owner's first store, created closed so it is not shown as open
/// before it has a menu.
#[derive(Debug, Clone)]
pub struct FirstStore {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: StoreKind,
    /// Address.
    pub address: String,
}

/// A sign-up that passed validation.
#[derive(Debug, Clone)]
pub struct ValidSignup {
    email: Email,
    display_name: String,
    password: String,
    role: Role,
    vehicle: Option<DeliveryType>,
    store: Option<FirstStore>,
}

/// Why a sign-up failed.
#[derive(Debug, thiserror::Error)]
pub enum SignupError {
    /// Fields to correct; nothing was created.
    #[error("please correct the highlighted fields")]
    Invalid(Vec<FieldError>),
    /// Anything else.
    #[error(transparent)]
    Account(#[from] AccountError),
}

/// Checks every field and reports all problems at once.
pub fn validate(form: &SignupForm) -> Result<ValidSignup, Vec<FieldError>> {
    let mut errors = Vec::new();
    let email = Email::parse(&form.email)
        .map_err(|_| errors.push(FieldError::new("email", Problem::Email)))
        .ok();
    let display_name = clean_text(
        &form.display_name,
        TextField::Name,
        domain::limits::DISPLAY_NAME_CHARS,
        false,
    )
    .map_err(|e| errors.push(FieldError::new("display_name", e)))
    .ok();
    let length = form.password.chars().count();
    if !(crate::PASSWORD_MIN_CHARS..=crate::PASSWORD_MAX_CHARS).contains(&length) {
        errors.push(FieldError::new(
            "password",
            Problem::PasswordLength {
                min: crate::PASSWORD_MIN_CHARS,
                max: crate::PASSWORD_MAX_CHARS,
            },
        ));
    }
    let role = match form.role.trim() {
        "customer" => Some(Role::Customer),
        "owner" => Some(Role::Owner),
        "rider" => Some(Role::Rider),
        _ => {
            errors.push(FieldError::new("role", Problem::Choose { what: Choice::Role }));
            None
        }
    };
    let vehicle = match role {
        Some(Role::Rider) => match form.vehicle.as_deref().unwrap_or_default().parse::<DeliveryType>() {
            Ok(v) => Some(v),
            Err(_) => {
                errors.push(FieldError::new("vehicle", Problem::Choose { what: Choice::Vehicle }));
                None
            }
        },
        _ => None,
    };
    let store = if role == Some(Role::Owner) {
        let name = clean_text(
            form.store_name.as_deref().unwrap_or_default(),
            TextField::StoreName,
            domain::limits::STORE_NAME_CHARS,
            false,
        )
        .map_err(|e| errors.push(FieldError::new("store_name", e)))
        .ok();
        let kind = form
            .store_kind
            .as_deref()
            .unwrap_or_default()
            .parse::<StoreKind>()
            .map_err(|_| {
                errors.push(FieldError::new(
                    "store_kind",
                    Problem::Choose {
                        what: Choice::StoreKind,
                    },
                ))
            })
            .ok();
        let address = clean_text(
            form.store_address.as_deref().unwrap_or_default(),
            TextField::StoreAddress,
            domain::limits::STORE_ADDRESS_CHARS,
            false,
        )
        .map_err(|e| errors.push(FieldError::new("store_address", e)))
        .ok();
        match (name, kind, address) {
            (Some(name), Some(kind), Some(address)) => Some(FirstStore { name, kind, address }),
            _ => None,
        }
    } else {
        None
    };
    match (email, display_name, role) {
        (Some(email), Some(display_name), Some(role)) if errors.is_empty() => Ok(ValidSignup {
            email,
            display_name,
            password: form.password.clone(),
            role,
            vehicle,
            store,
        }),
        _ => Err(errors),
    }
}

/// Validates the form and creates the account (and an owner's first store)
/// in one transaction.
///
/// Errors: [`SignupError::Invalid`] with every field to correct, including a
/// taken email; nothing is created then.
pub async fn sign_up(db: &Db, form: &SignupForm) -> Result<User, SignupError> {
    let valid = validate(form).map_err(SignupError::Invalid)?;
    let hash = hash_password(&valid.password).await?;
    let mut tx = db.begin().await.map_err(AccountError::Begin)?;
    let created = create_user(
        &mut tx,
        NewUser {
            email: valid.email.as_str(),
            display_name: &valid.display_name,
            role: valid.role,
            vehicle: valid.vehicle,
            password_hash: &hash,
        },
    )
    .await;
    let id: UserId = match created {
        Ok(id) => id,
        Err(AccountError::DuplicateEmail) => {
            return Err(SignupError::Invalid(vec![FieldError::new(
                "email",
                Problem::EmailTaken,
            )]))
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(store) = &valid.store {
        // The store context creates stores; the new one stays closed until
        // its owner has a menu.
        catalog::create_store(
            &mut tx,
            id,
            &catalog::NewStore {
                name: &store.name,
                kind: store.kind,
                // The owner names a category (치킨, 꽃다발…) on the menu
                // page; screens show the store's kind until then.
                category: "",
                address: &store.address,
                status: domain::StoreStatus::Closed,
                default_prep_minutes: 20,
                offers_delivery: true,
                offers_pickup: true,
                min_order_won: 0,
            },
        )
        .await
        .map_err(AccountError::Db)?;
    }
    tx.commit().await.map_err(AccountError::Db)?;
    Ok(User {
        id,
        email: valid.email.to_string(),
        display_name: valid.display_name,
        role: valid.role,
        vehicle: valid.vehicle,
        language: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> SignupForm {
        SignupForm {
            email: "new@example.kr".into(),
            display_name: "새 고객".into(),
            password: "password123".into(),
            role: "customer".into(),
            ..SignupForm::default()
        }
    }

    fn fields(form: &SignupForm) -> Vec<String> {
        validate(form)
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn a_valid_customer_passes() {
        assert!(validate(&form()).is_ok());
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let bad = SignupForm {
            email: "nope".into(),
            display_name: " ".into(),
            password: "short".into(),
            role: "admin".into(),
            ..SignupForm::default()
        };
        assert_eq!(fields(&bad), ["email", "display_name", "password", "role"]);
    }

    #[test]
    fn riders_need_a_vehicle_and_owners_a_store() {
        let rider = SignupForm {
            role: "rider".into(),
            vehicle: Some("helicopter".into()),
            ..form()
        };
        assert_eq!(fields(&rider), ["vehicle"]);
        let owner = SignupForm {
            role: "owner".into(),
            store_kind: Some("bank".into()),
            ..form()
        };
        assert_eq!(fields(&owner), ["store_name", "store_kind", "store_address"]);
        let long_password = SignupForm {
            password: "x".repeat(129),
            ..form()
        };
        assert_eq!(fields(&long_password), ["password"]);
    }
}
