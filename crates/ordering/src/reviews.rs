//! Reviews (requirement F11): one per completed order, 1–5 stars and a
//! comment of at most 1000 characters; a store shows its average and the
//! latest ones.

use crate::lifecycle::lock;
use crate::{no_such_order, Caller, OrderingError};
use db::Db;
use domain::shop::{Review, StoreReviews};
use domain::text::{clean_text, FieldError};
use domain::{OrderId, StoreId};
use eventlog::NewEvent;
use sqlx::Row;

/// How many reviews a store page shows.
pub const RECENT: i64 = 5;

/// Writes the customer's review of a completed order and appends
/// `ReviewWritten`; returns the event's sequence number.
///
/// Errors: [`OrderingError::Invalid`] for stars outside 1..=5 or a comment
/// over 1000 characters; [`OrderingError::NotFound`] for an order that is not
/// the caller's; [`OrderingError::Rejected`] before completion or for a
/// second review.
pub async fn write(db: &Db, order: OrderId, caller: &Caller, stars: i64, comment: &str) -> Result<i64, OrderingError> {
    let mut errors = Vec::new();
    if !(1..=5).contains(&stars) {
        errors.push(FieldError::new("stars", "choose 1 to 5 stars"));
    }
    let comment = if comment.trim().is_empty() {
        String::new()
    } else {
        clean_text(comment, "Comment", Review::MAX_COMMENT_CHARS, true).unwrap_or_else(|e| {
            errors.push(FieldError::new("comment", e.to_string()));
            String::new()
        })
    };
    if !errors.is_empty() {
        return Err(OrderingError::Invalid(errors));
    }
    let mut tx = db.begin().await?;
    let locked = lock(db, &mut tx, order).await?.ok_or_else(no_such_order)?;
    if locked.order.customer != caller.id {
        return Err(no_such_order());
    }
    if !locked.order.status.is_completed() {
        return Err(OrderingError::Rejected(
            "You can review an order once it has been delivered or collected.".into(),
        ));
    }
    let now = db::now_ms();
    let inserted = sqlx::query(
        "INSERT INTO reviews (order_id, store_id, customer_id, author, stars, comment, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (order_id) DO NOTHING",
    )
    .bind(order.get())
    .bind(locked.order.store.get())
    .bind(caller.id.get())
    .bind(&caller.name)
    .bind(stars)
    .bind(&comment)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(OrderingError::Rejected("You have already reviewed this order.".into()));
    }
    let review = Review {
        stars: u8::try_from(stars).unwrap_or(5),
        comment,
        author: caller.name.clone(),
        created_at_ms: now,
    };
    let seqs = eventlog::append(
        &mut tx,
        &[NewEvent {
            stream: "order",
            stream_id: order.get(),
            correlation_id: Some(order.get()),
            kind: "ReviewWritten".into(),
            payload: serde_json::json!({ "order_id": order.get(), "review": review }),
        }],
    )
    .await?;
    tx.commit().await?;
    Ok(seqs.first().copied().unwrap_or_default())
}

/// A store's review count, average and latest [`RECENT`] reviews.
pub async fn of_store(db: &Db, store: StoreId) -> Result<StoreReviews, OrderingError> {
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
