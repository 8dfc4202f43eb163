//! Card numbers never go into free text (a payment reference, an entry's description): PCI DSS
//! keeps them out of systems that do not need them. A run of 13 to 19 digits, optionally split
//! by single spaces or dashes, that passes the Luhn check is taken for a card number. The
//! server applies the same rule (`app.contains_card_number`, in the folios migration), so the
//! desk refuses what the server would refuse.

/// Whether `text` holds something that looks like a card number.
pub fn contains_card_number(text: &str) -> bool {
    digit_runs(text).iter().any(|digits| is_card_number(digits))
}

/// The maximal runs of digits in `text` where single spaces or dashes between digits do not
/// break a run ("4111 1111-1111 1111" is one run).
fn digit_runs(text: &str) -> Vec<Vec<u8>> {
    let chars: Vec<char> = text.chars().collect();
    let mut runs = Vec::new();
    let mut current: Vec<u8> = Vec::new();
    for (i, c) in chars.iter().enumerate() {
        if let Some(d) = c.to_digit(10) {
            current.push(d as u8);
        } else {
            let joins = matches!(c, ' ' | '-')
                && !current.is_empty()
                && chars.get(i + 1).is_some_and(char::is_ascii_digit)
                && i > 0
                && chars[i - 1].is_ascii_digit();
            if !joins && !current.is_empty() {
                runs.push(std::mem::take(&mut current));
            }
        }
    }
    if !current.is_empty() {
        runs.push(current);
    }
    runs
}

/// A card number's length (13 to 19 digits) and Luhn checksum.
fn is_card_number(digits: &[u8]) -> bool {
    if !(13..=19).contains(&digits.len()) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 {
                    doubled - 9
                } else {
                    doubled
                }
            } else {
                d
            }
        })
        .sum();
    sum % 10 == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::visa("4111111111111111", true)]
    #[case::spaced("paid with 4111 1111 1111 1111 thanks", true)]
    #[case::dashed("ref 5500-0000-0000-0004", true)]
    #[case::amex("3782 822463 10005", true)]
    #[case::luhn_fails("4111111111111112", false)]
    #[case::too_short("411111111111", false)]
    #[case::too_long_a_run("41111111111111111111111", false)]
    #[case::ordinary_reference("TRX-2026-000123", false)]
    #[case::room_and_nights("Room 101 - 2 nights", false)]
    #[case::double_space_breaks_a_run("4111 1111  1111 1111", false)]
    #[case::empty("", false)]
    fn card_numbers(#[case] text: &str, #[case] expected: bool) {
        assert_eq!(contains_card_number(text), expected, "{text}");
    }
}
