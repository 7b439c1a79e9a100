//! Hours written by people (InPost's `opening_hours` field, shop descriptions): `Lun-Ven: 9:00 - 13:00 -
//! 15:30 - 19:00`, `pn.-pt. 08:00-20:00, sb. 09:00-16:00`, `Mon-Sat 8h-20h; Sun closed`, `lu-ve 9-12
//! 14-18 sa 9-12`, `24/7`. The reader is tolerant: day names in French, Polish, German or English, full
//! or abbreviated, with or without dots; the two-letter abbreviations of the operator's language (its
//! country's: `di` is dimanche in France, Dienstag in Germany); times as `9:00`, `9h`, `9h30`, `9.30`,
//! `0900`, or a bare hour `9` in a range; slots as a flat list of times taken in pairs; several day
//! groups in one string. Days not mentioned are closed; times without any day apply every day. What it
//! cannot read is an error, never a guess.

use crate::weekly::{Weekly, clock_minutes};

/// Day names and abbreviations, lower case without accents, with their weekday (0 = Monday).
const DAYS: [(&str, usize); 38] = [
    ("lundi", 0),
    ("lun", 0),
    ("mardi", 1),
    ("mar", 1),
    ("mercredi", 2),
    ("mer", 2),
    ("jeudi", 3),
    ("jeu", 3),
    ("vendredi", 4),
    ("ven", 4),
    ("samedi", 5),
    ("sam", 5),
    ("dimanche", 6),
    ("dim", 6),
    ("pn", 0),
    ("pon", 0),
    ("wt", 1),
    ("sr", 2),
    ("cz", 3),
    ("czw", 3),
    ("pt", 4),
    ("pia", 4),
    ("sb", 5),
    ("sob", 5),
    ("nd", 6),
    ("niedz", 6),
    ("mon", 0),
    ("monday", 0),
    ("tue", 1),
    ("tuesday", 1),
    ("wed", 2),
    ("wednesday", 2),
    ("thu", 3),
    ("thursday", 3),
    ("fri", 4),
    ("friday", 4),
    ("sat", 5),
    ("sun", 6),
];
const CLOSED: [&str; 6] = ["ferme", "closed", "nieczynne", "zamkniete", "nieczynny", "fermeture"];
const RANGE_WORDS: [&str; 5] = ["a", "au", "to", "do", "till"];
const FILLER_WORDS: [&str; 9] = ["de", "et", "from", "and", "i", "oraz", "od", "le", "les"];
const ALWAYS: [&str; 4] = ["24/7", "24h/24", "calodobowo", "nonstop"];

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Day(usize),
    Time(String),
    Closed,
    Dash,
    Other(String),
}

/// Two-letter day abbreviations by language, with their weekday (0 = Monday). They differ from one
/// language to another (`di`, `do`, `we`), so only the operator's own are read.
const SHORT_DAYS_FR: [(&str, usize); 7] = [("lu", 0), ("ma", 1), ("me", 2), ("je", 3), ("ve", 4), ("sa", 5), ("di", 6)];
const SHORT_DAYS_DE: [(&str, usize); 7] = [("mo", 0), ("di", 1), ("mi", 2), ("do", 3), ("fr", 4), ("sa", 5), ("so", 6)];
const SHORT_DAYS_EN: [(&str, usize); 7] = [("mo", 0), ("tu", 1), ("we", 2), ("th", 3), ("fr", 4), ("sa", 5), ("su", 6)];

/// The two-letter day abbreviations of a country's language (English for a country not listed; Polish
/// has its own in [`DAYS`]).
fn short_days(country: &str) -> &'static [(&'static str, usize)] {
    match country.to_ascii_uppercase().as_str() {
        "FR" | "BE" | "LU" | "MC" => &SHORT_DAYS_FR,
        "DE" | "AT" => &SHORT_DAYS_DE,
        "PL" => &[],
        _ => &SHORT_DAYS_EN,
    }
}

/// The `opening_hours` value of a free-text description, read with the day abbreviations of the
/// point's country (`FR`, `PL`, `DE`...).
pub fn parse_free_text_in(text: &str, country: &str) -> Result<String, String> {
    read(text, short_days(country))
}

/// The `opening_hours` value of a free-text description, with English two-letter abbreviations.
pub fn parse_free_text(text: &str) -> Result<String, String> {
    read(text, &SHORT_DAYS_EN)
}

fn read(text: &str, short_days: &[(&str, usize)]) -> Result<String, String> {
    let folded = fold(text);
    if folded.trim().is_empty() {
        return Err("the hours are empty".into());
    }
    let compact: String = folded.chars().filter(|c| !c.is_whitespace()).collect();
    if ALWAYS.iter().any(|a| compact.contains(a)) || compact.contains("7j/7") && compact.contains("24h") {
        return Ok("24/7".into());
    }
    let tokens = tokenize(&folded, short_days)?;
    let mut weekly = Weekly::new();
    let mut days: Vec<usize> = Vec::new();
    let mut times: Vec<String> = Vec::new();
    let mut any_day = false;
    let mut i = 0;
    let flush = |weekly: &mut Weekly, days: &[usize], times: &mut Vec<String>| -> Result<(), String> {
        if !times.len().is_multiple_of(2) {
            return Err(format!("an odd number of times ({}) cannot be read as opening slots", times.join(", ")));
        }
        let every_day = [0, 1, 2, 3, 4, 5, 6];
        let days = if days.is_empty() { &every_day[..] } else { days };
        for pair in times.chunks(2) {
            for day in days {
                weekly.add(*day, &pair[0], &pair[1]).map_err(|e| e.to_string())?;
            }
        }
        times.clear();
        Ok(())
    };
    while i < tokens.len() {
        match &tokens[i] {
            Token::Day(first) => {
                if !times.is_empty() {
                    flush(&mut weekly, &days, &mut times)?;
                    days.clear();
                }
                any_day = true;
                if let (Some(Token::Dash), Some(Token::Day(last))) = (tokens.get(i + 1), tokens.get(i + 2)) {
                    let mut d = *first;
                    loop {
                        days.push(d);
                        if d == *last {
                            break;
                        }
                        d = (d + 1) % 7;
                    }
                    i += 3;
                    continue;
                }
                days.push(*first);
            }
            Token::Time(t) => times.push(t.clone()),
            Token::Closed => {
                times.clear();
                days.clear();
            }
            Token::Dash => {}
            Token::Other(word) => return Err(format!("{word:?} is not a day, a time or \"closed\"")),
        }
        i += 1;
    }
    if !times.is_empty() {
        flush(&mut weekly, &days, &mut times)?;
    }
    if weekly.is_closed_all_week() && !any_day {
        return Err("no day or time could be read".into());
    }
    Ok(weekly.to_value())
}

fn tokenize(text: &str, short_days: &[(&str, usize)]) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || matches!(chars[i], ':' | 'h' | '.')) {
                // A dot ends the time unless digits follow (`9.30` vs `19:00.`).
                if chars[i] == '.' && !chars.get(i + 1).is_some_and(char::is_ascii_digit) {
                    break;
                }
                i += 1;
            }
            let time: String = chars[start..i].iter().collect();
            let mut time = time.trim_end_matches(':').to_owned();
            // A bare hour (`9` in `9-18`).
            if time.len() <= 2 && time.bytes().all(|b| b.is_ascii_digit()) {
                time.push_str(":00");
            }
            clock_minutes(&time).map_err(|e| e.to_string())?;
            tokens.push(Token::Time(time));
            continue;
        }
        if c.is_alphabetic() {
            let start = i;
            while i < chars.len() && chars[i].is_alphabetic() {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            match DAYS.iter().chain(short_days).find(|(name, _)| *name == word) {
                Some((_, day)) => tokens.push(Token::Day(*day)),
                None if CLOSED.contains(&word.as_str()) => tokens.push(Token::Closed),
                // "Lundi au vendredi", "9h a 12h", "Mon to Fri", "od 8 do 20": a range.
                None if RANGE_WORDS.contains(&word.as_str()) => tokens.push(Token::Dash),
                // "de 9h ... et de 14h", "from", "and", "oraz": nothing to read.
                None if FILLER_WORDS.contains(&word.as_str()) => {}
                None => tokens.push(Token::Other(word)),
            }
            continue;
        }
        if matches!(c, '-') {
            tokens.push(Token::Dash);
        }
        i += 1;
    }
    Ok(tokens)
}

/// Lower case, accents and Polish letters folded to ASCII, dashes unified.
fn fold(text: &str) -> String {
    text.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'à' | 'â' | 'ä' | 'ą' => 'a',
            'é' | 'è' | 'ê' | 'ë' | 'ę' => 'e',
            'î' | 'ï' => 'i',
            'ô' | 'ö' | 'ó' => 'o',
            'ù' | 'û' | 'ü' => 'u',
            'ç' | 'ć' => 'c',
            'ś' => 's',
            'ł' => 'l',
            'ń' => 'n',
            'ż' | 'ź' => 'z',
            '–' | '—' | '−' => '-',
            other => other,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn operator_free_text_table() {
        let table = [
            ("24/7", "24/7"),
            ("24h/24 7j/7", "24/7"),
            ("Całodobowo", "24/7"),
            ("Lun-Ven: 9:00 - 13:00 - 15:30 - 19:00", "Mo-Fr 09:00-13:00,15:30-19:00"),
            (
                "Lun-Ven: 9:00 - 13:00 - 15:30 - 19:00; Sam: 9:00 - 12:00",
                "Mo-Fr 09:00-13:00,15:30-19:00; Sa 09:00-12:00",
            ),
            ("pn.-pt. 08:00-20:00, sb. 09:00-16:00", "Mo-Fr 08:00-20:00; Sa 09:00-16:00"),
            ("Mon-Sat 8h-20h; Sun closed", "Mo-Sa 08:00-20:00"),
            ("Lundi au vendredi de 9h à 12h et de 14h à 19h", "Mo-Fr 09:00-12:00,14:00-19:00"),
            ("8:00-22:00", "Mo-Su 08:00-22:00"),
            ("Sam, Dim: 10:00-18:00", "Sa,Su 10:00-18:00"),
            ("Dimanche: fermé", "off"),
            ("Lun-Sam 9-18", "Mo-Sa 09:00-18:00"),
            ("Lundi-Vendredi 9-12 14-18, Samedi 9-12", "Mo-Fr 09:00-12:00,14:00-18:00; Sa 09:00-12:00"),
            ("Mo-Sa 9.30-19.00", "Mo-Sa 09:30-19:00"),
            ("Lun 9-12 Mar 14-18", "Mo 09:00-12:00; Tu 14:00-18:00"),
        ];
        for (text, expected) in table {
            assert_eq!(parse_free_text(text).as_deref(), Ok(expected), "{text}");
            crate::OpeningHours::parse(expected).unwrap();
        }
    }

    #[test]
    fn two_letter_days_are_read_in_the_operators_language() {
        let table = [
            ("lu-ve 9h-12h 14h-18h sa 9h-12h", "FR", "Mo-Fr 09:00-12:00,14:00-18:00; Sa 09:00-12:00"),
            ("ma-di 10-19", "FR", "Tu-Su 10:00-19:00"),
            ("Mo-Fr 9-18, Sa 9-13", "DE", "Mo-Fr 09:00-18:00; Sa 09:00-13:00"),
            ("Di-Do 10-18", "DE", "Tu-Th 10:00-18:00"),
            ("Pn-Pt 8-20, Sb 9-16", "PL", "Mo-Fr 08:00-20:00; Sa 09:00-16:00"),
            ("pn-pt od 8 do 20", "PL", "Mo-Fr 08:00-20:00"),
            ("Mo-Fr 9-18", "GB", "Mo-Fr 09:00-18:00"),
        ];
        for (text, country, expected) in table {
            assert_eq!(parse_free_text_in(text, country).as_deref(), Ok(expected), "{text} ({country})");
        }
        // `di` is Sunday in France, Tuesday in Germany; Polish keeps `do` for "until".
        assert_ne!(parse_free_text_in("di 10-12", "FR"), parse_free_text_in("di 10-12", "DE"));
        assert!(parse_free_text_in("lu-ve 9-18", "PL").is_err(), "not Polish");
    }

    #[test]
    fn what_cannot_be_read_is_an_error() {
        for text in ["", "sur rendez-vous", "Lun-Ven: 9:00 - 13:00 - 15:30", "Lun 25:00-26:00"] {
            assert!(parse_free_text(text).is_err(), "{text}");
        }
    }
}
