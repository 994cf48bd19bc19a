//! Money in Korean won and order quantities.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An amount of money in won (KRW has no minor unit), never negative.
///
/// Arithmetic is checked: an overflow is an error, never a wrap-around.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Money(i64);

/// Why an amount of money was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// Amounts are never negative; refunds are their own operation.
    #[error("an amount of money cannot be negative")]
    Negative,
    /// The result does not fit in 64 bits of won.
    #[error("the amount is too large")]
    Overflow,
}

impl Money {
    /// Zero won.
    pub const ZERO: Money = Money(0);

    /// An amount of `won`; errors when it is negative.
    pub fn from_won(won: i64) -> Result<Money, MoneyError> {
        if won < 0 {
            Err(MoneyError::Negative)
        } else {
            Ok(Money(won))
        }
    }

    /// The amount in won.
    pub fn won(self) -> i64 {
        self.0
    }

    /// `self + other`, or [`MoneyError::Overflow`].
    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.0.checked_add(other.0).map(Money).ok_or(MoneyError::Overflow)
    }

    /// `self × quantity` (a line total), or [`MoneyError::Overflow`].
    pub fn times(self, quantity: Quantity) -> Result<Money, MoneyError> {
        self.0
            .checked_mul(i64::from(quantity.get()))
            .map(Money)
            .ok_or(MoneyError::Overflow)
    }

    /// The sum of `amounts`, or [`MoneyError::Overflow`].
    pub fn sum<I: IntoIterator<Item = Money>>(amounts: I) -> Result<Money, MoneyError> {
        amounts.into_iter().try_fold(Money::ZERO, Money::checked_add)
    }
}

impl TryFrom<i64> for Money {
    type Error = MoneyError;
    fn try_from(won: i64) -> Result<Self, Self::Error> {
        Money::from_won(won)
    }
}

impl From<Money> for i64 {
    fn from(m: Money) -> i64 {
        m.0
    }
}

impl fmt::Display for Money {
    /// Formats as Koreans read prices: `₩12,000`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.0.to_string();
        let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(c);
        }
        write!(f, "₩{grouped}")
    }
}

/// How many of one menu item a line of an order holds: 1 to 99.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Quantity(u8);

/// Why a quantity was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    /// Zero or negative.
    #[error("the quantity must be at least 1")]
    TooSmall,
    /// More than [`Quantity::MAX`].
    #[error("the quantity can be at most 99")]
    TooLarge,
}

impl Quantity {
    /// The largest quantity one order line may hold.
    pub const MAX: u8 = 99;

    /// Parses a quantity from any integer a form or a request may carry.
    pub fn new(n: i64) -> Result<Quantity, QuantityError> {
        if n < 1 {
            Err(QuantityError::TooSmall)
        } else if n > i64::from(Self::MAX) {
            Err(QuantityError::TooLarge)
        } else {
            // In 1..=99, so it fits a u8.
            Ok(Quantity(n as u8))
        }
    }

    /// The quantity as a number.
    pub fn get(self) -> u8 {
        self.0
    }
}

impl TryFrom<i64> for Quantity {
    type Error = QuantityError;
    fn try_from(n: i64) -> Result<Self, Self::Error> {
        Quantity::new(n)
    }
}

impl From<Quantity> for i64 {
    fn from(q: Quantity) -> i64 {
        i64::from(q.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn money_formats_with_won_sign_and_thousands_separators() {
        let cases = [
            (0, "₩0"),
            (500, "₩500"),
            (1_000, "₩1,000"),
            (12_000, "₩12,000"),
            (123_456, "₩123,456"),
            (1_234_567, "₩1,234,567"),
        ];
        for (won, text) in cases {
            assert_eq!(Money::from_won(won).map(|m| m.to_string()), Ok(text.to_string()));
        }
    }

    #[test]
    fn negative_money_is_refused() {
        assert_eq!(Money::from_won(-1), Err(MoneyError::Negative));
        assert!(serde_json::from_str::<Money>("-5").is_err());
    }

    #[test]
    fn overflow_is_an_error_not_a_wrap() {
        let big = Money(i64::MAX);
        assert_eq!(big.checked_add(Money(1)), Err(MoneyError::Overflow));
        assert_eq!(big.times(Quantity(2)), Err(MoneyError::Overflow));
    }

    #[test]
    fn quantity_bounds() {
        assert_eq!(Quantity::new(0), Err(QuantityError::TooSmall));
        assert_eq!(Quantity::new(-3), Err(QuantityError::TooSmall));
        assert_eq!(Quantity::new(100), Err(QuantityError::TooLarge));
        assert_eq!(Quantity::new(i64::MAX), Err(QuantityError::TooLarge));
        assert_eq!(Quantity::new(1).map(Quantity::get), Ok(1));
        assert_eq!(Quantity::new(99).map(Quantity::get), Ok(99));
        assert!(serde_json::from_str::<Quantity>("0").is_err());
        assert!(serde_json::from_str::<Quantity>("100").is_err());
    }

    proptest! {
        #[test]
        fn line_total_equals_repeated_addition(price in 0i64..10_000_000, n in 1i64..=99) {
            let price = Money(price);
            let q = Quantity::new(n).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let repeated = Money::sum(std::iter::repeat_n(price, n as usize));
            prop_assert_eq!(price.times(q), repeated);
        }

        #[test]
        fn sum_is_order_independent(mut amounts in proptest::collection::vec(0i64..1_000_000_000, 0..20)) {
            let forward = Money::sum(amounts.iter().copied().map(Money));
            amounts.reverse();
            prop_assert_eq!(forward, Money::sum(amounts.iter().copied().map(Money)));
        }

        #[test]
        fn money_serde_round_trips(won in 0i64..i64::MAX) {
            let m = Money(won);
            let json = serde_json::to_string(&m).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(serde_json::from_str::<Money>(&json).ok(), Some(m));
        }
    }
}
