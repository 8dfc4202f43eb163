//! Word lists for demo data: names in several scripts (real guest lists are not all ASCII).

pub const FIRST_NAMES: &[&str] = &[
    "Anna",
    "João",
    "Liam",
    "Sofia",
    "Mateo",
    "Amara",
    "Noah",
    "Chloé",
    "Lukas",
    "Aisha",
    "Hiroshi",
    "Mei",
    "Olivia",
    "Omar",
    "Ingrid",
    "Diego",
    "Fatima",
    "Elif",
    "Kwame",
    "Priya",
    "Sven",
    "Zoë",
    "Tomás",
    "Leila",
    "Ravi",
    "Emma",
    "Nikolai",
    "Yuki",
    "Hannah",
    "Carlos",
    "Farah",
    "Jakub",
    "Ana",
    "Björn",
    "Chiara",
    "Dmitri",
    "Eva",
    "Felix",
    "Grace",
    "Hugo",
    "Isla",
    "Jonas",
    "Kenji",
    "Lucía",
    "Marco",
    "Nadia",
    "Oscar",
    "Paula",
    "Rania",
    "Samuel",
    "Tanvi",
    "Ulla",
    "Victor",
    "Wei",
    "Xavier",
    "Yasmin",
    "Zara",
    "Алексей",
    "Мария",
    "李",
    "王",
    "さくら",
    "محمد",
    "Ελένη",
];

pub const LAST_NAMES: &[&str] = &[
    "Smith",
    "Okafor",
    "García",
    "Müller",
    "Rossi",
    "Dubois",
    "Nakamura",
    "Kowalski",
    "Andersson",
    "Haddad",
    "Silva",
    "Nguyen",
    "Johansson",
    "Costa",
    "Öztürk",
    "Mensah",
    "Patel",
    "Ivanova",
    "Fernández",
    "Brown",
    "Chen",
    "Kim",
    "Novak",
    "O'Brien",
    "van Dijk",
    "Schmidt",
    "Rahman",
    "Moreau",
    "Lindqvist",
    "Horvat",
    "Jensen",
    "Martins",
    "Yilmaz",
    "Tanaka",
    "Wilson",
    "Lopez",
    "Cohen",
    "Ahmed",
    "Kovács",
    "Petrov",
    "Popescu",
    "Santos",
    "Larsen",
    "Murphy",
    "Conti",
    "Mahlangu",
    "Иванов",
    "张",
    "佐藤",
    "عبدالله",
    "Παπαδόπουλος",
];

pub const CITIES: &[(&str, &str)] = &[
    ("Lisbon", "PT"),
    ("Berlin", "DE"),
    ("Lagos", "NG"),
    ("Madrid", "ES"),
    ("Rome", "IT"),
    ("Paris", "FR"),
    ("Tokyo", "JP"),
    ("Warsaw", "PL"),
    ("Stockholm", "SE"),
    ("Beirut", "LB"),
    ("São Paulo", "BR"),
    ("Hanoi", "VN"),
    ("Istanbul", "TR"),
    ("Accra", "GH"),
    ("Mumbai", "IN"),
    ("London", "GB"),
    ("Dublin", "IE"),
    ("Amsterdam", "NL"),
    ("Toronto", "CA"),
    ("New York", "US"),
];

pub const HOTEL_NAMES: &[&str] = &[
    "Hotel Aurora",
    "Casa do Rio",
    "The Linden House",
    "Pension Alpenblick",
    "Riad Zitoun",
    "Harbour View Inn",
    "Villa Serena",
    "The Old Mill",
    "Gasthof Adler",
    "Maison Lumière",
];

pub const TAGS: &[&str] = &[
    "returning",
    "corporate",
    "late-arrival",
    "family",
    "pet",
    "quiet-room",
    "press",
    "long-stay",
];

pub const ALLERGIES: &[&str] = &["peanuts", "gluten", "shellfish", "lactose", "feathers"];
pub const DIETS: &[&str] = &["vegetarian", "vegan", "halal", "kosher", "gluten-free"];
pub const FOODS: &[&str] = &[
    "pastéis de nata",
    "sushi",
    "croissants",
    "fresh fruit",
    "dark chocolate",
];
pub const DRINKS: &[&str] = &[
    "espresso",
    "green tea",
    "sparkling water",
    "orange juice",
    "red wine",
];
pub const LANGUAGES: &[&str] = &["en", "pt", "de", "fr", "es", "it", "ja", "ar"];

/// Turns a name into the local part of an email address (ASCII letters only; others dropped).
pub fn email_local_part(first: &str, last: &str, n: usize) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .filter_map(|c| {
                let c = match c {
                    'á' | 'à' | 'ã' | 'â' | 'ä' => 'a',
                    'é' | 'è' | 'ê' | 'ë' => 'e',
                    'í' | 'ï' => 'i',
                    'ó' | 'ö' | 'ô' | 'õ' => 'o',
                    'ú' | 'ü' => 'u',
                    'ç' => 'c',
                    'ñ' => 'n',
                    other => other.to_ascii_lowercase(),
                };
                c.is_ascii_alphanumeric().then_some(c)
            })
            .collect()
    };
    let (first, last) = (clean(first), clean(last));
    match (first.is_empty(), last.is_empty()) {
        (false, false) => format!("{first}.{last}.{n}"),
        (false, true) => format!("{first}.{n}"),
        (true, false) => format!("{last}.{n}"),
        (true, true) => format!("guest.{n}"),
    }
}

#[cfg(test)]
mod tests {
    use super::email_local_part;

    #[test]
    fn emails_are_ascii() {
        assert_eq!(email_local_part("João", "García", 3), "joao.garcia.3");
        assert_eq!(email_local_part("李", "O'Brien", 4), "obrien.4");
        assert_eq!(email_local_part("さくら", "张", 5), "guest.5");
    }
}
