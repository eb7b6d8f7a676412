//! Time to load a large shop: 10,000 generated articles (2,500 topics in English, Spanish,
//! Portuguese and Dutch, 3 to 5 sections each) written to a temporary folder, then
//! `Engine::load` from files to a ready index, timed three times. Prints a Markdown table for
//! the README.
//!
//! The text is generated, not lorem ipsum: each language has its own shop vocabulary drawn
//! with a skewed (Zipf-like) frequency, every topic names its own products (made-up words, so
//! the vocabulary grows with the shop as real catalogues do), and articles carry titles,
//! alternative questions, tags, lists and links to each other.
//!
//! `cargo bench --bench index`; under `cargo test --benches` a 400-article shop loads once.
//! With `CONCIERGE_BENCH_SHOP=DIR` the generated shop is kept in DIR.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use concierge::config::Settings;
use concierge::{Engine, Question};

const TOPICS: usize = 2_500;
const LOCALES: [&str; 4] = ["en", "es", "pt", "nl"];
const TARGET: Duration = Duration::from_secs(10);
const RUNS: usize = 3;

const CATEGORIES: [&str; 10] = [
    "shipping", "returns", "orders", "payments", "account", "products", "sizing", "care",
    "warranty", "stores",
];

/// One language's words, as written here: space-separated words, `|`-separated phrases.
struct Words {
    /// Function words: the most frequent.
    function: &'static str,
    /// Shop vocabulary, most common first.
    content: &'static str,
    /// Title templates: `{v}` a verb, `{o}` an object, `{O}` the object capitalised.
    titles: &'static str,
    verbs: &'static str,
    headings: &'static str,
}

const EN: Words = Words {
    function: "the a your you we to of and in for with on is can it if or at from by our this \
        be will not",
    content: "order parcel delivery return refund days account email payment card shipping \
        address item size jacket boots tent warehouse carrier tracking link customer \
        service label store price discount code gift voucher invoice tax customs duties \
        weekend express standard free cost euro country europe exchange colour fabric \
        waterproof wash repair warranty guarantee damage missing wrong cancel change \
        password newsletter privacy pickup point locker courier signature neighbour \
        receipt bank transfer klarna paypal stock restock backorder sleeve zip seam \
        sole lining down wool merino backpack sleeping bag stove lantern trail hiking \
        climbing winter summer",
    titles: "How do I {v} my {o}?|Can I {v} the {o}?|What happens if I {v} my {o}?|\
        When can I {v} my {o}?|Why can't I {v} my {o}?|{O} questions",
    verbs: "track|return|exchange|cancel|change|pay for|wash|repair|collect|send back|order|\
        find|reset|update|register",
    headings: "Before you start|How it works|How long does it take?|What does it cost?|\
        Exceptions|Still need help?|Outside the EU|For business customers|Good to know",
};

const ES: Words = Words {
    function: "el la los las de del y en un una tu su que para con por se es no te al o lo si \
        puedes",
    content: "pedido paquete envío entrega devolución reembolso días cuenta correo pago \
        tarjeta dirección artículo talla chaqueta botas tienda almacén transportista \
        seguimiento enlace cliente servicio etiqueta precio descuento código regalo \
        vale factura impuestos aduana aranceles fin semana exprés estándar gratis coste \
        euros país europa cambio color tejido impermeable lavar reparar garantía daño \
        perdido equivocado cancelar cambiar contraseña boletín privacidad recogida \
        punto taquilla mensajero firma vecino recibo banco transferencia existencias \
        reposición manga cremallera costura suela forro plumón lana merino mochila saco \
        dormir hornillo linterna sendero senderismo escalada invierno verano",
    titles: "¿Cómo puedo {v} mi {o}?|¿Puedo {v} el {o}?|¿Qué pasa si quiero {v} mi {o}?|\
        ¿Cuándo puedo {v} mi {o}?|¿Por qué no puedo {v} mi {o}?|Preguntas sobre {o}",
    verbs: "rastrear|devolver|cambiar|cancelar|modificar|pagar|lavar|reparar|recoger|enviar|\
        pedir|encontrar|restablecer|actualizar|registrar",
    headings: "Antes de empezar|Cómo funciona|¿Cuánto tarda?|¿Cuánto cuesta?|Excepciones|\
        ¿Necesitas más ayuda?|Fuera de la UE|Para empresas|Conviene saber",
};

const PT: Words = Words {
    function: "o a os as de do da e em um uma seu sua que para com por se é não no na ou você \
        pode",
    content: "pedido encomenda envio entrega devolução reembolso dias conta email pagamento \
        cartão endereço artigo tamanho casaco botas loja armazém transportadora \
        rastreio link cliente atendimento etiqueta preço desconto código presente vale \
        fatura impostos alfândega taxas fim semana expresso padrão grátis custo euros \
        país europa troca cor tecido impermeável lavar consertar garantia dano \
        extraviado errado cancelar alterar senha newsletter privacidade retirada ponto \
        armário entregador assinatura vizinho recibo banco transferência estoque \
        reposição manga zíper costura sola forro penas lã merino mochila saco dormir \
        fogareiro lanterna trilha caminhada escalada inverno verão",
    titles: "Como posso {v} meu {o}?|Posso {v} o {o}?|O que acontece se eu {v} meu {o}?|\
        Quando posso {v} meu {o}?|Por que não consigo {v} meu {o}?|Dúvidas sobre {o}",
    verbs: "rastrear|devolver|trocar|cancelar|alterar|pagar|lavar|consertar|retirar|enviar|\
        pedir|encontrar|redefinir|atualizar|registrar",
    headings: "Antes de começar|Como funciona|Quanto tempo leva?|Quanto custa?|Exceções|\
        Ainda precisa de ajuda?|Fora da UE|Para empresas|Bom saber",
};

const NL: Words = Words {
    function: "de het een je jouw we naar van en in voor met op is kan als of bij uit door ons \
        dit wordt niet binnen",
    content: "bestelling pakket levering bezorging retour terugbetaling dagen account e-mail \
        betaling kaart adres artikel maat jas schoenen winkel magazijn vervoerder track \
        trace link klant klantenservice label prijs korting code cadeaubon waardebon \
        factuur btw douane invoerrechten weekend express standaard gratis kosten euro \
        land europa ruilen kleur stof waterdicht wassen repareren garantie schade kwijt \
        verkeerd annuleren wijzigen wachtwoord nieuwsbrief privacy afhaalpunt punt \
        pakketautomaat koerier handtekening buren bon bank overschrijving ideal \
        voorraad nalevering mouw rits naad zool voering dons wol merino rugzak slaapzak \
        brander lantaarn wandelpad wandelen klimmen winter zomer",
    titles: "Hoe kan ik mijn {o} {v}?|Kan ik de {o} {v}?|\
        Wat gebeurt er als ik mijn {o} wil {v}?|Wanneer kan ik mijn {o} {v}?|\
        Waarom kan ik mijn {o} niet {v}?|Vragen over {o}",
    verbs: "volgen|retourneren|ruilen|annuleren|wijzigen|betalen|wassen|repareren|ophalen|\
        terugsturen|bestellen|vinden|resetten|bijwerken|registreren",
    headings: "Voordat je begint|Zo werkt het|Hoe lang duurt het?|Wat kost het?|Uitzonderingen|\
        Meer hulp nodig?|Buiten de EU|Voor zakelijke klanten|Goed om te weten",
};

/// A language's words, ready to draw from.
struct Vocabulary {
    function: Vec<&'static str>,
    content: Vec<&'static str>,
    titles: Vec<&'static str>,
    verbs: Vec<&'static str>,
    headings: Vec<&'static str>,
}

impl Vocabulary {
    fn new(w: &Words) -> Self {
        Vocabulary {
            function: w.function.split_whitespace().collect(),
            content: w.content.split_whitespace().collect(),
            titles: w.titles.split('|').collect(),
            verbs: w.verbs.split('|').collect(),
            headings: w.headings.split('|').collect(),
        }
    }
}

/// A small xorshift generator: the same shop every run, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    /// Skewed towards the front of the list, the way word frequencies are.
    fn zipf<'a>(&mut self, words: &[&'a str]) -> &'a str {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        words[((u * u) * words.len() as f64) as usize]
    }
}

/// A made-up product name shared by every translation of a topic, e.g. "Fjellvor".
fn product_name(topic: usize, k: usize) -> String {
    const SYLLABLES: [&str; 24] = [
        "fjel", "vor", "ska", "lin", "dal", "hav", "tor", "mi", "rek", "stu", "bre", "nor", "vik",
        "an", "sol", "gra", "ul", "ke", "rin", "hei", "mo", "ta", "sen", "de",
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ ((topic as u64) << 8 | k as u64));
    let n = rng.range(2, 3);
    let mut name: String = (0..n)
        .map(|_| SYLLABLES[rng.below(SYLLABLES.len())])
        .collect();
    name[..1].make_ascii_uppercase();
    name
}

fn sentence(rng: &mut Rng, w: &Vocabulary, products: &[String]) -> String {
    let len = rng.range(8, 20);
    let mut s = String::new();
    for i in 0..len {
        let word: String = match rng.below(100) {
            0..=44 => rng.zipf(&w.function).to_string(),
            45..=91 => rng.zipf(&w.content).to_string(),
            92..=95 => products[rng.below(products.len())].clone(),
            _ => rng.range(1, 120).to_string(),
        };
        if i > 0 {
            s.push(' ');
        }
        s.push_str(&word);
    }
    let mut chars = s.chars();
    let first = chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>())
        .unwrap_or_default();
    format!("{first}{}.", chars.as_str())
}

fn title(rng: &mut Rng, w: &Vocabulary, object: &str) -> String {
    let t = w.titles[rng.below(w.titles.len())];
    let capitalised = {
        let mut c = object.chars();
        c.next()
            .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
            .unwrap_or_default()
    };
    t.replace("{v}", w.verbs[rng.below(w.verbs.len())])
        .replace("{o}", object)
        .replace("{O}", &capitalised)
}

/// Writes one article; returns its size in bytes.
fn write_article(kb: &Path, locale: &str, w: &Vocabulary, topic: usize) -> usize {
    let category = CATEGORIES[topic % CATEGORIES.len()];
    let mut rng = Rng(0x2545_f491_4f6c_dd1d
        ^ ((topic as u64) << 4)
        ^ locale.len() as u64
        ^ (locale.as_bytes()[0] as u64) << 40);
    for _ in 0..4 {
        rng.next();
    }
    let products: Vec<String> = (0..3).map(|k| product_name(topic, k)).collect();
    let object = format!("{} {}", rng.zipf(&w.content[14..]), products[0]);
    let mut text = String::from("---\n");
    writeln!(text, "title: \"{}\"", title(&mut rng, w, &object)).unwrap();
    text.push_str("questions:\n");
    for _ in 0..rng.range(2, 3) {
        let object = format!("{} {}", rng.zipf(&w.content), products[rng.below(3)]);
        writeln!(text, "  - \"{}\"", title(&mut rng, w, &object)).unwrap();
    }
    let mut tags: Vec<&str> = (0..rng.range(2, 4)).map(|_| rng.zipf(&w.content)).collect();
    tags.sort_unstable();
    tags.dedup();
    writeln!(text, "tags: [{category}, {}]", tags.join(", ")).unwrap();
    text.push_str("---\n");
    // The introduction: what the bot quotes first.
    for _ in 0..rng.range(2, 3) {
        text.push_str(&sentence(&mut rng, w, &products));
        text.push(' ');
    }
    text.push_str("\n\n");
    for s in 0..rng.range(3, 5) {
        writeln!(
            text,
            "## {}\n",
            w.headings[(topic + s * 7 + rng.below(3)) % w.headings.len()]
        )
        .unwrap();
        for p in 0..rng.range(1, 3) {
            for _ in 0..rng.range(2, 5) {
                text.push_str(&sentence(&mut rng, w, &products));
                text.push(' ');
            }
            if p == 0 && rng.below(3) == 0 {
                // A link to an earlier article of the same category and language.
                let other = topic.saturating_sub(CATEGORIES.len() * rng.range(1, 5));
                if other != topic && other % CATEGORIES.len() == topic % CATEGORIES.len() {
                    write!(text, "See [{}](topic-{other}.md).", products[1]).unwrap();
                }
            }
            text.push_str("\n\n");
        }
        if rng.below(2) == 0 {
            for _ in 0..rng.range(2, 4) {
                writeln!(
                    text,
                    "- {} {} {}",
                    rng.zipf(&w.content),
                    rng.zipf(&w.function),
                    rng.zipf(&w.content)
                )
                .unwrap();
            }
            text.push('\n');
        }
    }
    let dir = kb.join(locale).join(category);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("topic-{topic}.md")), &text).unwrap();
    text.len()
}

/// Generates `topics` topics in every locale under `kb`; returns (articles, bytes).
fn generate(kb: &Path, topics: usize) -> (usize, usize) {
    let mut bytes = 0;
    for (locale, words) in LOCALES.iter().zip([&EN, &ES, &PT, &NL]) {
        let words = Vocabulary::new(words);
        for topic in 0..topics {
            bytes += write_article(kb, locale, &words, topic);
        }
    }
    (topics * LOCALES.len(), bytes)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    if has("--list") {
        println!("index/load: benchmark");
        return;
    }
    let benchmark = has("--bench") && !has("--test");
    let (topics, runs) = if benchmark { (TOPICS, RUNS) } else { (100, 1) };

    // CONCIERGE_BENCH_SHOP=DIR keeps the generated shop there, to look at or to try with
    // `concierge ask --kb DIR/knowledge-base`; by default it goes to a temporary folder.
    let temp = tempfile::tempdir().expect("a temporary folder");
    let dir =
        std::env::var_os("CONCIERGE_BENCH_SHOP").map_or(temp.path().to_path_buf(), Into::into);
    let kb = dir.join("knowledge-base");
    let intents = dir.join("intents");
    std::fs::create_dir_all(&intents).unwrap();
    let t = Instant::now();
    let (articles, bytes) = generate(&kb, topics);
    let generated_in = t.elapsed();

    let mut settings = Settings {
        knowledge_base: kb,
        intents,
        ..Settings::default()
    };
    settings.shop.locales = LOCALES.iter().map(|l| l.parse().unwrap()).collect();
    // The lexical engine, whatever the build: the default build would otherwise embed every
    // title and section with the model, which `benches/semantic.rs` measures.
    settings.semantic.enabled = false;

    let mut times = Vec::with_capacity(runs);
    let mut sections = 0;
    for _ in 0..runs {
        let t = Instant::now();
        let (engine, diagnostics) = Engine::load(&settings).expect("the generated shop loads");
        times.push(t.elapsed());
        // Check that the timed load did the work: every article in, nothing skipped, and the
        // index answers.
        let errors: Vec<_> = diagnostics
            .iter()
            .filter(|d| d.is_error())
            .take(3)
            .collect();
        assert!(
            errors.is_empty(),
            "the generated shop has errors: {errors:?}"
        );
        assert_eq!(engine.knowledge_base().len(), articles);
        sections = engine
            .knowledge_base()
            .articles()
            .iter()
            .map(|a| a.sections.len())
            .sum();
        let hits = engine.search(&product_name(7, 0), None, 5);
        assert!(!hits.is_empty(), "a product name finds its article");
        let reply = engine.ask(&Question::new("how do I return my jacket"));
        assert!(!reply.text.is_empty());
        drop(std::hint::black_box(engine));
    }
    times.sort_unstable();
    let median = times[times.len() / 2];
    let secs = |d: Duration| format!("{:.2} s", d.as_secs_f64());
    if !benchmark {
        println!(
            "index: {articles} generated articles load in {} (a check; `cargo bench --bench index` measures)",
            secs(median)
        );
        return;
    }

    println!();
    println!(
        "Indexing (generated shop, {} locales, files → ready engine with `Engine::load`, median of {} runs, `cargo bench --bench index`):",
        LOCALES.len(),
        runs
    );
    println!();
    println!("| articles | sections | Markdown | load (median) | fastest | slowest | articles/s |");
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    println!(
        "| {} | {} | {:.1} MB | {} {} | {} | {} | {:.0} |",
        articles,
        sections,
        bytes as f64 / 1e6,
        secs(median),
        if median < TARGET { "✅" } else { "❌" },
        secs(times[0]),
        secs(*times.last().unwrap()),
        articles as f64 / median.as_secs_f64()
    );
    println!();
    println!(
        "Target: {} articles in < {}. (Generating the files took {}.)",
        TOPICS * LOCALES.len(),
        secs(TARGET),
        secs(generated_in)
    );
}
