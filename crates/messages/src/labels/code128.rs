//! Code 128 symbols of parcel numbers: which code set carries each character (planned here, by the
//! fewest symbol characters), drawn as bars by the `barcoders` crate and written as the ZPL field data
//! of `^BC` with the same code sets, so the printer's symbol and the PDF's are the same.
//!
//! A parcel number is letters and digits (`ParcelNumber`), and a GS1-128 symbol adds FNC1, so two code
//! sets suffice: B (letters and digits one by one) and C (digits two by two). Set A only adds control
//! characters, which no parcel number has.

use barcoders::sym::code128::Code128;

/// One thing to encode: a character, or the FNC1 function that marks GS1 data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Input {
    Char(u8),
    Fnc1,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Set {
    B,
    C,
}

/// A planned symbol: its inputs in code-set runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbol {
    runs: Vec<(Set, Vec<Input>)>,
    /// What a person reads under the bars.
    pub human_readable: String,
}

/// Why a text cannot be a symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotEncodable(pub String);

/// The most symbol characters between start and check (ISO/IEC 15417 sets no limit; GS1 sets 48 data
/// characters; scanners commonly read up to this).
const DATA_CHARACTERS_MAX: usize = 48;

impl Symbol {
    /// An SSCC under GS1 application identifier (00): FNC1, `00`, the 18 digits.
    pub fn sscc(sscc: &str) -> Result<Symbol, NotEncodable> {
        if sscc.len() != 18 || !sscc.bytes().all(|b| b.is_ascii_digit()) {
            return Err(NotEncodable(format!("an SSCC is 18 digits, not {sscc:?}")));
        }
        let mut inputs = vec![Input::Fnc1, Input::Char(b'0'), Input::Char(b'0')];
        inputs.extend(sscc.bytes().map(Input::Char));
        Symbol::plan(inputs, format!("(00) {sscc}"))
    }

    /// Any parcel number (S10, a carrier's): letters and digits as they are.
    pub fn plain(text: &str) -> Result<Symbol, NotEncodable> {
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(NotEncodable(format!("only letters and digits go in a parcel's barcode, not {text:?}")));
        }
        Symbol::plan(text.bytes().map(Input::Char).collect(), text.to_owned())
    }

    /// The symbol of a parcel number: GS1-128 (00) for an SSCC, plain Code 128 otherwise.
    pub fn of_parcel_number(number: &str) -> Result<Symbol, NotEncodable> {
        if number.len() == 18 && number.bytes().all(|b| b.is_ascii_digit()) {
            Symbol::sscc(number)
        } else {
            Symbol::plain(number)
        }
    }

    /// The fewest symbol characters: `cost[i][s]` is what encoding `inputs[i..]` costs while in set `s`.
    /// On a tie, set C is taken as early as it can be, as zint encodes the UPU S10 and GS1 figures.
    fn plan(inputs: Vec<Input>, human_readable: String) -> Result<Symbol, NotEncodable> {
        let n = inputs.len();
        let is_digit = |i: usize| matches!(inputs.get(i), Some(Input::Char(c)) if c.is_ascii_digit());
        // Cost of the next step in set `s` from `i`: how many inputs it takes, or None if it cannot.
        let step = |i: usize, s: Set| -> Option<usize> {
            match (s, inputs[i]) {
                (_, Input::Fnc1) => Some(1),
                (Set::C, Input::Char(_)) if is_digit(i) && is_digit(i + 1) => Some(2),
                (Set::C, Input::Char(_)) => None,
                (Set::B, Input::Char(_)) => Some(1),
            }
        };
        let index = |s: Set| usize::from(s == Set::C);
        let other = |s: Set| if s == Set::B { Set::C } else { Set::B };
        const NEVER: usize = usize::MAX / 4;
        let mut cost = vec![[NEVER; 2]; n + 1];
        cost[n] = [0, 0];
        for i in (0..n).rev() {
            for s in [Set::B, Set::C] {
                let here = step(i, s).map_or(NEVER, |taken| 1 + cost[i + taken][index(s)]);
                let switched = step(i, other(s)).map_or(NEVER, |taken| 2 + cost[i + taken][index(other(s))]);
                cost[i][index(s)] = here.min(switched);
            }
        }
        // Start in the cheaper set (C on a tie).
        let mut set = if cost[0][index(Set::C)] <= cost[0][index(Set::B)] { Set::C } else { Set::B };
        if cost[0][index(set)] >= NEVER {
            return Err(NotEncodable(human_readable));
        }
        if cost[0][index(set)] > DATA_CHARACTERS_MAX {
            return Err(NotEncodable(format!("{human_readable} is too long for one barcode")));
        }
        let mut runs: Vec<(Set, Vec<Input>)> = vec![(set, Vec::new())];
        let mut i = 0;
        while i < n {
            let best = cost[i][index(set)];
            let stay = step(i, set).map(|taken| (taken, 1 + cost[i + taken][index(set)]));
            let switch = step(i, other(set)).map(|taken| (taken, 2 + cost[i + taken][index(other(set))]));
            let taken = match (stay, switch) {
                (_, Some((taken, c))) if c == best && other(set) == Set::C => {
                    set = Set::C;
                    runs.push((set, Vec::new()));
                    taken
                }
                (Some((taken, c)), _) if c == best => taken,
                (_, switched) => {
                    set = other(set);
                    runs.push((set, Vec::new()));
                    switched.map_or(1, |(taken, _)| taken)
                }
            };
            if let Some((_, run)) = runs.last_mut() {
                run.extend_from_slice(&inputs[i..i + taken]);
            }
            i += taken;
        }
        Ok(Symbol { runs, human_readable })
    }

    /// The symbol characters' values, start to stop, with the check character (what zint's test
    /// vectors list).
    pub fn codewords(&self) -> Vec<u16> {
        let mut values: Vec<u16> = Vec::new();
        for (k, (set, run)) in self.runs.iter().enumerate() {
            values.push(match (k, set) {
                (0, Set::B) => 104,
                (0, Set::C) => 105,
                (_, Set::B) => 100,
                (_, Set::C) => 99,
            });
            let mut i = 0;
            while i < run.len() {
                match (set, run[i]) {
                    (_, Input::Fnc1) => {
                        values.push(102);
                        i += 1;
                    }
                    (Set::B, Input::Char(c)) => {
                        values.push(u16::from(c) - 32);
                        i += 1;
                    }
                    (Set::C, Input::Char(c)) => {
                        let next = match run.get(i + 1) {
                            Some(Input::Char(d)) => *d,
                            _ => b'0',
                        };
                        values.push(u16::from(c - b'0') * 10 + u16::from(next - b'0'));
                        i += 2;
                    }
                }
            }
        }
        let check = values.iter().enumerate().map(|(i, v)| u32::from(*v) * (i.max(1) as u32)).sum::<u32>() % 103;
        values.push(check as u16);
        values.push(106);
        values
    }

    /// How many modules wide the symbol is, quiet zones aside: 11 a character, 13 for the stop.
    pub fn module_count(&self) -> usize {
        self.codewords().len() * 11 + 2
    }

    /// The `barcoders` input: set switches as `Ɓ`/`Ć`, FNC1 as `Ź`.
    fn barcoders_input(&self) -> String {
        let mut out = String::new();
        for (set, run) in &self.runs {
            out.push(if *set == Set::B { 'Ɓ' } else { 'Ć' });
            for input in run {
                out.push(match input {
                    Input::Fnc1 => 'Ź',
                    Input::Char(c) => char::from(*c),
                });
            }
        }
        out
    }

    /// The modules, dark (`true`) and light, from the start character to the stop pattern, without the
    /// quiet zones (ten modules each side, left to the layout).
    pub fn modules(&self) -> Vec<bool> {
        // The plan holds only what set B or C can carry, so `barcoders` accepts it.
        let encoded = Code128::new(self.barcoders_input()).map(|c| c.encode()).unwrap_or_default();
        encoded.into_iter().map(|m| m == 1).collect()
    }

    /// The field data of ZPL's `^BC` in mode N: `>:` / `>;` start set B / C, `>6` / `>5` switch to them,
    /// `>8` FNC1 (Zebra's invocation codes). Letters and digits need no escaping in set B.
    pub fn zpl_field_data(&self) -> String {
        let mut out = String::new();
        for (k, (set, run)) in self.runs.iter().enumerate() {
            out.push_str(match (k, set) {
                (0, Set::B) => ">:",
                (0, Set::C) => ">;",
                (_, Set::B) => ">6",
                (_, Set::C) => ">5",
            });
            for input in run {
                match input {
                    Input::Fnc1 => out.push_str(">8"),
                    Input::Char(c) => out.push(char::from(*c)),
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_sscc_is_start_c_fnc1_and_ten_digit_pairs() {
        let symbol = Symbol::sscc("376123450000000014").unwrap();
        assert_eq!(symbol.zpl_field_data(), ">;>800376123450000000014");
        assert_eq!(&symbol.codewords()[..4], &[105, 102, 0, 37]);
        assert_eq!(symbol.human_readable, "(00) 376123450000000014");
        // 11 modules a character and 13 for the stop: start, FNC1, 10 pairs, check, stop.
        assert_eq!(symbol.modules().len(), 13 * 11 + 13);
        assert_eq!(symbol.module_count(), symbol.modules().len());
    }

    #[test]
    fn mixed_numbers_switch_sets_where_it_saves_characters() {
        // Two letters, nine digits, two letters: B for the letters, C for the first eight digits.
        let symbol = Symbol::plain("RR123456785FR").unwrap();
        assert_eq!(symbol.zpl_field_data(), ">:RR>512345678>65FR");
        // All letters: set B throughout.
        assert_eq!(Symbol::plain("ABC").unwrap().zpl_field_data(), ">:ABC");
        assert!(Symbol::plain("AB-12").is_err());
        assert!(Symbol::sscc("12345").is_err());
        assert!(Symbol::plain(&"A".repeat(49)).is_err());
    }
}
