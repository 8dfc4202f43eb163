//! The UI's TypeScript types are generated from the desk's Rust types (issue 22): the committed
//! `ui/src/lib/generated/types.ts` is what `pms_desk::ui_types::generate` derives now, so a
//! field renamed or retyped in Rust without regenerating fails here (and the UI's type check then
//! shows every screen that reads it).

use std::path::PathBuf;

use pms_desk::ui_types::{generate, COMMITTED_PATH};

#[test]
fn the_committed_ui_types_are_the_ones_the_rust_types_derive() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(COMMITTED_PATH);
    let generated = generate();
    if std::env::var_os("PMS_UPDATE_UI_TYPES").is_some() {
        std::fs::create_dir_all(path.parent().expect("a folder")).expect("create the folder");
        std::fs::write(&path, &generated).expect("write the generated types");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed == generated {
        return;
    }
    let difference = committed
        .lines()
        .zip(generated.lines())
        .enumerate()
        .find(|(_, (a, b))| a != b)
        .map(|(n, (a, b))| {
            format!(
                "first difference at line {}:\n  committed: {a}\n  code:      {b}",
                n + 1
            )
        })
        .unwrap_or_else(|| {
            format!(
                "the committed file has {} lines, the code's {}",
                committed.lines().count(),
                generated.lines().count()
            )
        });
    panic!(
        "{COMMITTED_PATH} is not what the desk's Rust types derive ({difference}).\n\
         Regenerate it with\n  PMS_UPDATE_UI_TYPES=1 cargo test -p pms-desk --test ui_types\n\
         then run `npm run check` in ui/ and commit both."
    );
}

#[test]
fn money_and_counts_are_numbers_and_optional_fields_may_be_null() {
    let generated = generate();
    let start = generated
        .find("export type Reservation =")
        .expect("Reservation is generated");
    let reservation = &generated[start..];
    let reservation = &reservation[..reservation.find("};").expect("its end")];
    assert!(
        reservation.contains("total_amount_cents: number"),
        "{reservation}"
    );
    assert!(
        reservation.contains("confirmation_number: number | null"),
        "{reservation}"
    );
    assert!(!generated.contains("bigint"), "no i64 becomes a bigint");
}
