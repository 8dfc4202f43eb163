//! Money as the desk and the server count it: amounts in minor units of an ISO 4217 currency
//! (JPY has none, EUR two, BHD three: never a hard-coded 100), and the arithmetic of taxes a
//! property charges (VAT included in its prices or added to them, a city tax per person-night).
//! Every rounding is half away from zero on the tax of one line, so a hand calculation per line
//! gives the folio's totals.

use iso_currency::Currency;

/// The digits after the decimal point of `currency` (ISO 4217); `None` when it is not a known
/// currency code.
pub fn minor_digits(currency: &str) -> Option<u8> {
    let currency = Currency::from_code(currency)?;
    // A code without minor units (gold, SDRs) counts in whole units.
    Some(currency.exponent().map_or(0, |digits| digits as u8))
}

/// `amount` minor units of `currency` written for a person: thousands separated, the currency's
/// decimals, and its code ("1,234.500 BHD", "15,000 JPY", "-10.50 EUR").
pub fn format_minor(amount: i64, currency: &str) -> String {
    let digits = u32::from(minor_digits(currency).unwrap_or(2));
    let scale = 10_i64.pow(digits);
    let sign = if amount < 0 { "-" } else { "" };
    let magnitude = amount.unsigned_abs();
    let units = (magnitude / scale as u64).to_string();
    let mut grouped = String::with_capacity(units.len() + units.len() / 3);
    for (i, digit) in units.chars().enumerate() {
        if i > 0 && (units.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    if digits == 0 {
        format!("{sign}{grouped} {currency}")
    } else {
        let fraction = magnitude % scale as u64;
        format!(
            "{sign}{grouped}.{fraction:0width$} {currency}",
            width = digits as usize
        )
    }
}

/// `numerator / denominator` rounded half away from zero (`denominator` > 0).
fn divide_rounded(numerator: i128, denominator: i128) -> i64 {
    let half = denominator / 2;
    let rounded = if numerator >= 0 {
        (numerator + half) / denominator
    } else {
        (numerator - half) / denominator
    };
    rounded as i64
}

/// A priced line split into what is taxed and its tax.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaxedAmount {
    /// The amount before tax (the charge entry).
    pub net_minor: i64,
    /// The tax on it (the tax entry).
    pub tax_minor: i64,
}

impl TaxedAmount {
    pub fn gross_minor(self) -> i64 {
        self.net_minor + self.tax_minor
    }
}

/// A price at a VAT rate (basis points: 1000 = 10%). `included`: the price holds the VAT (a
/// room at 110.00 with 10% is 100.00 net and 10.00 VAT); otherwise VAT is added to it (100.00
/// net and 10.00 VAT, 110.00 for the guest).
pub fn apply_vat(price_minor: i64, rate_bp: i64, included: bool) -> TaxedAmount {
    if rate_bp <= 0 {
        return TaxedAmount {
            net_minor: price_minor,
            tax_minor: 0,
        };
    }
    if included {
        let tax = divide_rounded(
            i128::from(price_minor) * i128::from(rate_bp),
            10_000 + i128::from(rate_bp),
        );
        TaxedAmount {
            net_minor: price_minor - tax,
            tax_minor: tax,
        }
    } else {
        TaxedAmount {
            net_minor: price_minor,
            tax_minor: divide_rounded(i128::from(price_minor) * i128::from(rate_bp), 10_000),
        }
    }
}

/// The city tax of one night: `per_person_minor` for each adult, and for each child unless the
/// tax exempts guests under an age (a booking's children are the guests under it).
pub fn city_tax(per_person_minor: i64, adults: i64, children: i64, children_exempt: bool) -> i64 {
    let persons = adults.max(0) + if children_exempt { 0 } else { children.max(0) };
    per_person_minor * persons
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minor_units_come_from_iso_4217() {
        assert_eq!(minor_digits("EUR"), Some(2));
        assert_eq!(minor_digits("JPY"), Some(0));
        assert_eq!(minor_digits("BHD"), Some(3));
        assert_eq!(minor_digits("XYZ"), None);
    }

    #[test]
    fn amounts_are_written_with_their_currency_s_decimals() {
        assert_eq!(format_minor(1_234_500, "BHD"), "1,234.500 BHD");
        assert_eq!(format_minor(15_000, "JPY"), "15,000 JPY");
        assert_eq!(format_minor(-1050, "EUR"), "-10.50 EUR");
        assert_eq!(format_minor(5, "EUR"), "0.05 EUR");
        assert_eq!(format_minor(999, "JPY"), "999 JPY");
    }

    #[test]
    fn vat_included_is_taken_out_of_the_price_and_added_vat_on_top() {
        // 110.00 with 10% included: 100.00 + 10.00
        assert_eq!(
            apply_vat(11_000, 1000, true),
            TaxedAmount {
                net_minor: 10_000,
                tax_minor: 1000
            }
        );
        // 100.00 with 10% added: 100.00 + 10.00
        assert_eq!(apply_vat(10_000, 1000, false).gross_minor(), 11_000);
        // 19% included in 9.99: 9.99 * 19 / 119 = 1.595… → 1.60
        assert_eq!(apply_vat(999, 1900, true).tax_minor, 160);
        // 7.7% added to 12.35: 0.95095 → 0.95
        assert_eq!(apply_vat(1235, 770, false).tax_minor, 95);
        // half away from zero: 5% of 0.10 is 0.005 → 0.01
        assert_eq!(apply_vat(10, 500, false).tax_minor, 1);
        assert_eq!(apply_vat(10, 0, true).tax_minor, 0);
    }

    #[test]
    fn city_tax_counts_persons_and_exempts_children_when_told() {
        assert_eq!(city_tax(250, 2, 1, true), 500);
        assert_eq!(city_tax(250, 2, 1, false), 750);
    }
}
