//! What the bot says in its own words (not the shop's content), per language.

/// The bot's own sentences in one language.
#[derive(Debug, Clone, Copy)]
pub struct Messages {
    pub clarify: &'static str,
    pub escalate: &'static str,
    pub empty: &'static str,
    /// Put before an answer that is not in the shopper's language; `{lang}` is the language.
    pub fallback: &'static str,
    pub read_more: &'static str,
}

const EN: Messages = Messages {
    clarify: "I'm not sure I understood. Did you mean one of these?",
    escalate: "I can't answer that myself, so I'm passing your question to a colleague, who will get back to you.",
    empty: "Could you tell me a bit more about your question?",
    fallback: "This answer is only available in {lang}:",
    read_more: "Read more",
};

const ES: Messages = Messages {
    clarify: "No estoy seguro de haberte entendido. ¿Te refieres a alguna de estas opciones?",
    escalate: "No puedo responder a eso yo mismo, así que paso tu pregunta a un compañero del equipo, que te contestará.",
    empty: "¿Podrías contarme un poco más sobre tu pregunta?",
    fallback: "Esta respuesta solo está disponible en {lang}:",
    read_more: "Leer más",
};

const PT: Messages = Messages {
    clarify: "Não tenho a certeza de ter percebido. Quis dizer uma destas opções?",
    escalate: "Não consigo responder a isso sozinho, por isso vou passar a sua pergunta a um colega da equipa, que lhe responderá.",
    empty: "Pode contar-me um pouco mais sobre a sua pergunta?",
    fallback: "Esta resposta só está disponível em {lang}:",
    read_more: "Ler mais",
};

const NL: Messages = Messages {
    clarify: "Ik weet niet zeker of ik je goed begrijp. Bedoel je een van deze?",
    escalate: "Daar kan ik zelf geen antwoord op geven, dus ik geef je vraag door aan een collega, die contact met je opneemt.",
    empty: "Kun je iets meer vertellen over je vraag?",
    fallback: "Dit antwoord is alleen beschikbaar in het {lang}:",
    read_more: "Lees meer",
};

/// The messages of a language; English for languages without their own.
pub fn messages(language: &str) -> &'static Messages {
    match language {
        "es" => &ES,
        "pt" => &PT,
        "nl" => &NL,
        _ => &EN,
    }
}

/// The name of a language, in the language `in_language`.
pub fn language_name(language: &str, in_language: &str) -> String {
    let name = match (language, in_language) {
        ("en", "es") => "inglés",
        ("en", "pt") => "inglês",
        ("en", "nl") => "Engels",
        ("es", "es") => "español",
        ("pt", "pt") => "português",
        ("nl", "nl") => "Nederlands",
        ("es", "nl") => "Spaans",
        ("pt", "nl") => "Portugees",
        ("es", "pt") => "espanhol",
        ("pt", "es") => "portugués",
        ("nl", "es") => "neerlandés",
        ("nl", "pt") => "neerlandês",
        ("en", _) => "English",
        ("es", _) => "Spanish",
        ("pt", _) => "Portuguese",
        ("nl", _) => "Dutch",
        (other, _) => other,
    };
    name.to_string()
}
