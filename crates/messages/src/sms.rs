//! SMS encoding and segmentation, after 3GPP TS 23.038 (the GSM 7-bit default alphabet and its
//! extension table) and TS 23.040 (concatenated messages).
//!
//! A text whose every character is in the GSM 7-bit alphabet travels in septets: 160 in one message,
//! 153 in each part of a longer one (the 7 others carry the header that tells the phone how to join
//! the parts). A character of the extension table (`€`, `[`, `{`, `|`...) takes two septets, an escape
//! and itself, and the two never go to different parts. Any other character makes the whole text UCS-2:
//! 70 UTF-16 units in one message, 67 per part, and an emoji's two units (a surrogate pair) never go to
//! different parts either.
//!
//! French needs care: `é è ù à É Ç` are in the GSM alphabet, but `ê â î ô û ç ë ï œ` are not, and one
//! of them halves what an SMS holds. `fold_punctuation` replaces the typographic punctuation templates
//! often carry (curly quotes, guillemets, dashes, ellipsis, non-breaking spaces) with GSM equivalents;
//! letters are never changed, since a wrong letter in a name or an address is worse than a second part.

use std::borrow::Cow;

/// The GSM 7-bit default alphabet in code order (0x00 to 0x7F); 0x1B is the escape to the extension
/// table, not a character of its own.
const BASIC: [char; 128] = [
    '@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å', //
    'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', '\u{1b}', 'Æ', 'æ', 'ß', 'É', //
    ' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/', //
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?', //
    '¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', //
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§', //
    '¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', //
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à', //
];

/// The extension table: each is sent as the escape then its own code, two septets.
const EXTENSION: [char; 10] = ['\u{c}', '^', '{', '}', '\\', '[', '~', ']', '|', '€'];

/// Septets in one GSM 7-bit message, and in each part of a concatenated one.
pub const GSM_SINGLE: usize = 160;
pub const GSM_PART: usize = 153;
/// UTF-16 units in one UCS-2 message, and in each part of a concatenated one.
pub const UCS2_SINGLE: usize = 70;
pub const UCS2_PART: usize = 67;

/// How a text is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// The GSM 7-bit default alphabet and its extension table.
    Gsm7,
    /// UCS-2 (UTF-16 on the phones of today): any character, fewer of them.
    Ucs2,
}

/// A text cut into what is sent: one part, or the parts of a concatenated message in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sms {
    pub encoding: Encoding,
    pub parts: Vec<String>,
}

impl Sms {
    /// The messages a provider bills for this text.
    pub fn segments(&self) -> usize {
        self.parts.len()
    }
}

/// The septets a character takes in the GSM 7-bit alphabet: 1, 2 (extension table), or `None` when it
/// is not in it (the escape itself is not a character one can send).
pub fn septets(c: char) -> Option<usize> {
    if c == '\u{1b}' {
        None
    } else if BASIC.contains(&c) {
        Some(1)
    } else if EXTENSION.contains(&c) {
        Some(2)
    } else {
        None
    }
}

/// The encoding a text needs: GSM 7-bit when every character is in its alphabet, UCS-2 otherwise.
pub fn encoding_of(text: &str) -> Encoding {
    if text.chars().all(|c| septets(c).is_some()) { Encoding::Gsm7 } else { Encoding::Ucs2 }
}

/// Cuts a text into the parts it is sent as. An empty text is one empty message.
pub fn segment(text: &str) -> Sms {
    let encoding = encoding_of(text);
    // What each character costs, in the unit of its encoding; never split inside one character.
    let cost = |c: char| match encoding {
        Encoding::Gsm7 => septets(c).unwrap_or(1),
        Encoding::Ucs2 => c.len_utf16(),
    };
    let (single, part) = match encoding {
        Encoding::Gsm7 => (GSM_SINGLE, GSM_PART),
        Encoding::Ucs2 => (UCS2_SINGLE, UCS2_PART),
    };
    if text.chars().map(cost).sum::<usize>() <= single {
        return Sms { encoding, parts: vec![text.to_owned()] };
    }
    let mut parts = Vec::new();
    let (mut current, mut used) = (String::new(), 0);
    for c in text.chars() {
        if used + cost(c) > part {
            parts.push(std::mem::take(&mut current));
            used = 0;
        }
        current.push(c);
        used += cost(c);
    }
    parts.push(current);
    Sms { encoding, parts }
}

/// The text with typographic punctuation replaced by its GSM 7-bit equivalent: curly quotes and
/// guillemets by straight quotes, dashes by a hyphen, the ellipsis by three dots, non-breaking and thin
/// spaces by a space. Letters are left as they are.
pub fn fold_punctuation(text: &str) -> Cow<'_, str> {
    let fold = |c: char| -> Option<&'static str> {
        Some(match c {
            '\u{2018}' | '\u{2019}' | '\u{201a}' | '\u{2032}' => "'",
            '\u{201c}' | '\u{201d}' | '\u{201e}' | '«' | '»' => "\"",
            '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2014}' | '\u{2212}' => "-",
            '\u{2026}' => "...",
            '\u{a0}' | '\u{202f}' | '\u{2009}' | '\u{2007}' => " ",
            _ => return None,
        })
    };
    if !text.chars().any(|c| fold(c).is_some()) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match fold(c) {
            Some(replacement) => out.push_str(replacement),
            None => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_alphabet_has_its_128_codes_and_the_extension_costs_two() {
        let mut sorted = BASIC.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 128, "no character twice");
        assert_eq!(BASIC[0x1b], '\u{1b}');
        assert!(EXTENSION.iter().all(|c| !BASIC.contains(c)));
        for (c, expected) in [
            ('a', Some(1)),
            ('@', Some(1)),
            ('é', Some(1)),
            ('à', Some(1)),
            ('Ç', Some(1)),
            ('€', Some(2)),
            ('[', Some(2)),
            ('\u{1b}', None),
            ('ê', None),
            ('ç', None),
            ('œ', None),
            ('’', None),
            ('📦', None),
        ] {
            assert_eq!(septets(c), expected, "{c:?}");
        }
    }

    #[test]
    fn texts_are_cut_at_the_limits_of_their_encoding() {
        let gsm = |n: usize| "a".repeat(n);
        let ucs = |n: usize| "ê".repeat(n);
        // (text, encoding, part lengths in characters)
        let cases: Vec<(String, Encoding, Vec<usize>)> = vec![
            (String::new(), Encoding::Gsm7, vec![0]),
            (gsm(160), Encoding::Gsm7, vec![160]),
            (gsm(161), Encoding::Gsm7, vec![153, 8]),
            (gsm(306), Encoding::Gsm7, vec![153, 153]),
            (gsm(307), Encoding::Gsm7, vec![153, 153, 1]),
            // An extension character takes two septets: 80 euros fill one message, 81 need two.
            ("€".repeat(80), Encoding::Gsm7, vec![80]),
            ("€".repeat(81), Encoding::Gsm7, vec![76, 5]),
            // 152 septets then a euro sign: its escape and code stay together, in the second part.
            (format!("{}€{}", gsm(152), gsm(10)), Encoding::Gsm7, vec![152, 11]),
            (ucs(70), Encoding::Ucs2, vec![70]),
            (ucs(71), Encoding::Ucs2, vec![67, 4]),
            // One character out of the alphabet makes the whole text UCS-2.
            (format!("{}ê", gsm(69)), Encoding::Ucs2, vec![70]),
            (format!("{}ê", gsm(70)), Encoding::Ucs2, vec![67, 4]),
            // An emoji is two UTF-16 units, never split: 66 units then the parcel emoji go together.
            (format!("{}📦{}", ucs(66), ucs(3)), Encoding::Ucs2, vec![66, 4]),
            ("📦".repeat(35), Encoding::Ucs2, vec![35]),
            ("📦".repeat(36), Encoding::Ucs2, vec![33, 3]),
        ];
        for (text, encoding, lengths) in cases {
            let sms = segment(&text);
            let got: Vec<usize> = sms.parts.iter().map(|p| p.chars().count()).collect();
            assert_eq!((sms.encoding, got), (encoding, lengths), "{} characters", text.chars().count());
            assert_eq!(sms.parts.concat(), text, "the parts join back into the text");
            assert_eq!(sms.segments(), sms.parts.len());
        }
    }

    #[test]
    fn every_part_fits_its_encoding() {
        let texts = [
            "Votre colis 3SABC0123456789 est prêt au casier Part-Dieu, porte B07, jusqu'au 12/12 à 19h. Code : 04831276. Ouvrir avec le QR : https://relais.example/r/RL2.AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
            "Your parcel {3SABC0123456789} is ready at locker [Part-Dieu] | door B07 | until 12/12 7 pm | code 04831276 | 5 € to extend ~ https://relais.example/r/RL2.AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
        ];
        for text in texts {
            let sms = segment(text);
            for part in &sms.parts {
                let units: usize = match sms.encoding {
                    Encoding::Gsm7 => part.chars().map(|c| septets(c).unwrap()).sum(),
                    Encoding::Ucs2 => part.encode_utf16().count(),
                };
                let limit = match (sms.encoding, sms.parts.len()) {
                    (Encoding::Gsm7, 1) => GSM_SINGLE,
                    (Encoding::Gsm7, _) => GSM_PART,
                    (Encoding::Ucs2, 1) => UCS2_SINGLE,
                    (Encoding::Ucs2, _) => UCS2_PART,
                };
                assert!(units <= limit, "{units} > {limit} in {part:?}");
            }
        }
        assert_eq!(segment(texts[0]).encoding, Encoding::Ucs2, "prêt");
        assert_eq!(segment(texts[1]).encoding, Encoding::Gsm7);
    }

    #[test]
    fn typographic_punctuation_folds_to_gsm_and_letters_stay() {
        let text =
            "Votre colis l\u{2019}attend \u{ab}\u{a0}Tabac de la Gare\u{a0}\u{bb} \u{2013} code\u{202f}: 0483\u{2026}";
        let folded = fold_punctuation(text);
        assert_eq!(folded, "Votre colis l'attend \" Tabac de la Gare \" - code : 0483...");
        assert_eq!(encoding_of(&folded), Encoding::Gsm7);
        assert_eq!(encoding_of(text), Encoding::Ucs2);
        // Nothing to fold: the text itself, not a copy. Letters outside the alphabet stay.
        assert!(matches!(fold_punctuation("déjà"), Cow::Borrowed("déjà")));
        assert_eq!(fold_punctuation("prêt\u{2019}"), "prêt'");
    }
}
