//! The review context (requirement F11, seed 004: "배달이 완료되면 고객은 리뷰를
//! 작성한다"): one review per completed order, 1–5 stars and a comment of at
//! most [`Review::MAX_COMMENT_CHARS`] characters; a store shows its average
//! and the latest ones.
//!
//! Whether an order may be reviewed (completed, and the reviewer's) is read
//! from the order views (`views`), which hear the order's events; this
//! context imports nothing of ordering. It owns the `reviews` table and
//! appends `ReviewWritten`.

use db::Db;
use domain::event::ReviewEvent;
use domain::problem::{Choice, Problem, TextField};
use domain::shop::{Review, StoreReviews};
use domain::text::{clean_text, FieldError};
use domain::{OrderId, StoreId, UserId};
use eventlog::StorageError;
use sqlx::Row;

/// How many reviews a store page shows.
pub const RECENT: i64 = 5;

/// Why a review was not written. Nothing is written in any case.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    /// Stars or comment to correct, one message per field.
    #[error("please correct the highlighted fields")]
    Invalid(Vec<FieldError>),
    /// No such order, or not the reviewer's.
    #[error("There is no such order.")]
    NotFound,
    /// Not completed yet, or reviewed already.
    #[error("refused: {0:?}")]
    Rejected(Problem),
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<sqlx::Error> for ReviewError {
    fn from(e: sqlx::Error) -> Self {
        ReviewError::Storage(e.into())
    }
}

/// The reviewer: a customer with the name shown under the review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reviewer {
    /// The customer.
    pub id: UserId,
    /// Their display name.
    pub name: String,
}

/// Writes `reviewer`'s review of `order` and appends `ReviewWritten`;
/// returns the event's sequence number.
///
/// Errors: [`ReviewError::Invalid`] for stars outside 1..=5 or a comment over
/// the limit; [`ReviewError::NotFound`] for an order that is not the
/// reviewer's; [`ReviewError::Rejected`] before completion or for a second
/// review.
pub async fn write(
    db: &Db,
    order: OrderId,
    reviewer: &Reviewer,
    stars: i64,
    comment: &str,
) -> Result<i64, ReviewError> {
    let mut errors = Vec::new();
    if !(1..=5).contains(&stars) {
        errors.push(FieldError::new("stars", Problem::Choose { what: Choice::Stars }));
    }
    let comment = if comment.trim().is_empty() {
        String::new()
    } else {
        clean_text(comment, TextField::Comment, Review::MAX_COMMENT_CHARS, true).unwrap_or_else(|e| {
            errors.push(FieldError::new("comment", e));
            String::new()
        })
    };
    if !errors.is_empty() {
        return Err(ReviewError::Invalid(errors));
    }
    let view = views::order(db, order)
        .await?
        .filter(|v| v.placed.customer == reviewer.id)
        .ok_or(ReviewError::NotFound)?;
    if !view.status.is_completed() {
        return Err(ReviewError::Rejected(Problem::ReviewTooEarly));
    }
    let now = db::now_ms();
    let mut tx = db.begin().await.map_err(StorageError::from)?;
    let inserted = sqlx::query(
        "INSERT INTO reviews (order_id, store_id, customer_id, author, stars, comment, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (order_id) DO NOTHING",
    )
    .bind(order.get())
    .bind(view.placed.store.get())
    .bind(reviewer.id.get())
    .bind(&reviewer.name)
    .bind(stars)
    .bind(&comment)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(ReviewError::Rejected(Problem::AlreadyReviewed));
    }
    let review = Review {
        stars: u8::try_from(stars).unwrap_or(5),
        comment,
        author: reviewer.name.clone(),
        created_at_ms: now,
    };
    let seq = eventlog::append_event(
        &mut tx,
        ReviewEvent::ReviewWritten {
            order_id: order,
            review,
        },
    )
    .await
    .map_err(StorageError::from)?;
    // The store's page shows its rating and latest reviews from a cache
    // (`catalog::StoreCache`) that this moves on.
    tx.changed_catalog();
    tx.commit().await?;
    Ok(seq)
}

/// A store's review count, average and latest [`RECENT`] reviews.
pub async fn of_store(db: &Db, store: StoreId) -> Result<StoreReviews, StorageError> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(stars), 0) AS BIGINT) AS total FROM reviews WHERE store_id = $1",
    )
    .bind(store.get())
    .fetch_one(db.pool())
    .await?;
    let count: i64 = row.try_get("n")?;
    let total: i64 = row.try_get("total")?;
    let rows = sqlx::query(
        "SELECT author, stars, comment, created_at FROM reviews WHERE store_id = $1 \
         ORDER BY created_at DESC, order_id DESC LIMIT $2",
    )
    .bind(store.get())
    .bind(RECENT)
    .fetch_all(db.pool())
    .await?;
    let recent = rows
        .iter()
        .map(|r| {
            Ok(Review {
                author: r.try_get("author")?,
                stars: u8::try_from(r.try_get::<i64, _>("stars")?).unwrap_or(0),
                comment: r.try_get("comment")?,
                created_at_ms: r.try_get("created_at")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(StoreReviews {
        count: u32::try_from(count).unwrap_or(0),
        // Rounded to the nearest tenth.
        average_tenths: if count > 0 {
            u32::try_from((total * 10 + count / 2) / count).unwrap_or(0)
        } else {
            0
        },
        recent,
    })
}
