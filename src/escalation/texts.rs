//! What the bot says during a hand-over, per language (the pattern of `crate::messages`).
//! Placeholders: `{email}` an address, `{promise}` the reply promise of the business hours,
//! `{token}` what the shopper typed, `{problem}` what is wrong with it.

use super::email::EmailProblem;

/// The hand-over sentences in one language.
#[derive(Debug, Clone, Copy)]
pub struct HandoverTexts {
    /// Inside business hours: a person takes over now.
    pub live: &'static str,
    /// Outside business hours, no email known.
    pub ask_email: &'static str,
    /// Outside business hours, the email is known.
    pub ask_message_known_email: &'static str,
    /// After a valid address.
    pub ask_message: &'static str,
    /// The message was empty.
    pub ask_message_again: &'static str,
    /// What the shopper typed is not an address; `{problem}` is one of the `problem_*`.
    pub invalid_email: &'static str,
    pub no_address: &'static str,
    pub problem_space: &'static str,
    pub problem_missing_local: &'static str,
    pub problem_missing_domain: &'static str,
    pub problem_trailing_dot: &'static str,
    pub problem_malformed: &'static str,
    /// Too many invalid addresses: the ticket went without one.
    pub gave_up_on_email: &'static str,
    /// The message was taken, with an address to reply to.
    pub message_taken: &'static str,
    /// The message was taken, without an address.
    pub message_taken_no_email: &'static str,
    /// The shopper left the dialogue.
    pub cancelled: &'static str,
    /// A person already has the conversation (live).
    pub already_live: &'static str,
    /// The team already has the shopper's message (offline).
    pub already_offline: &'static str,
    /// The engine wanted a person but the shop switched that trigger off.
    pub no_handover: &'static str,
}

const EN: HandoverTexts = HandoverTexts {
    live: "I'm passing you to a colleague now; they'll join this conversation shortly.",
    ask_email: "Our team isn't online right now, but you can leave them a message and they'll reply by email. What email address can we reach you at? (Type “cancel” if you'd rather not.)",
    ask_message_known_email: "Our team isn't online right now, but you can leave them a message and they'll reply to {email}. What would you like to tell them? (Type “cancel” if you'd rather not.)",
    ask_message: "Thanks, we'll reply to {email}. What would you like to tell our team?",
    ask_message_again: "Please type the message you'd like to leave for our team.",
    invalid_email: "Sorry, “{token}” doesn't look like a complete email address: {problem}. Could you type it again? It should look like name@example.com.",
    no_address: "Sorry, I couldn't find an email address in your message. Could you type it? It should look like name@example.com. (Or type “cancel”.)",
    problem_space: "there seems to be a space in it",
    problem_missing_local: "the part before the @ is missing",
    problem_missing_domain: "the part after the @ is incomplete",
    problem_trailing_dot: "it ends with a dot",
    problem_malformed: "it contains a character or a combination that an address can't have",
    gave_up_on_email: "I still couldn't read an email address, so I've passed the conversation to our team without one, so nothing gets lost. {promise}",
    message_taken: "Thanks, I've passed your message to our team. {promise} The reply will go to {email}.",
    message_taken_no_email: "Thanks, I've passed your message to our team. {promise}",
    cancelled: "No problem, I won't pass anything on. Is there anything else I can help you with?",
    already_live: "A colleague already has this conversation and will be with you shortly.",
    already_offline: "Our team already has your message and will get back to you.",
    no_handover: "Sorry, I can't help with that one. Could you put it another way, or ask me something else?",
};

const ES: HandoverTexts = HandoverTexts {
    live: "Te paso ahora con un compañero del equipo, que se unirá a esta conversación en breve.",
    ask_email: "Ahora mismo nuestro equipo no está conectado, pero puedes dejarle un mensaje y te responderá por email. ¿A qué dirección de email podemos escribirte? (Escribe «cancelar» si prefieres no hacerlo).",
    ask_message_known_email: "Ahora mismo nuestro equipo no está conectado, pero puedes dejarle un mensaje y te responderá a {email}. ¿Qué quieres decirle? (Escribe «cancelar» si prefieres no hacerlo).",
    ask_message: "Gracias, te responderemos a {email}. ¿Qué quieres decirle a nuestro equipo?",
    ask_message_again: "Escribe, por favor, el mensaje que quieres dejarle a nuestro equipo.",
    invalid_email: "Lo siento, «{token}» no parece una dirección de email completa: {problem}. ¿Puedes escribirla de nuevo? Debería ser algo como nombre@ejemplo.com.",
    no_address: "Lo siento, no encuentro ninguna dirección de email en tu mensaje. ¿Puedes escribirla? Debería ser algo como nombre@ejemplo.com. (O escribe «cancelar»).",
    problem_space: "parece que tiene un espacio",
    problem_missing_local: "falta la parte antes de la @",
    problem_missing_domain: "la parte después de la @ está incompleta",
    problem_trailing_dot: "termina en punto",
    problem_malformed: "tiene un carácter o una combinación que no puede tener una dirección",
    gave_up_on_email: "Sigo sin poder leer una dirección de email, así que he pasado la conversación a nuestro equipo sin ella para que no se pierda nada. {promise}",
    message_taken: "Gracias, he pasado tu mensaje a nuestro equipo. {promise} La respuesta llegará a {email}.",
    message_taken_no_email: "Gracias, he pasado tu mensaje a nuestro equipo. {promise}",
    cancelled: "De acuerdo, no paso nada. ¿Puedo ayudarte en algo más?",
    already_live: "Un compañero ya tiene esta conversación y te atenderá en breve.",
    already_offline: "Nuestro equipo ya tiene tu mensaje y te responderá.",
    no_handover: "Lo siento, con eso no puedo ayudarte. ¿Puedes decirlo de otra forma o preguntarme otra cosa?",
};

const PT: HandoverTexts = HandoverTexts {
    live: "Vou passar a conversa a um colega da equipa, que se vai juntar a nós dentro de momentos.",
    ask_email: "De momento a nossa equipa não está disponível, mas pode deixar-lhe uma mensagem e responderemos por e-mail. Para que endereço de e-mail podemos escrever? (Escreva «cancelar» se preferir não o fazer.)",
    ask_message_known_email: "De momento a nossa equipa não está disponível, mas pode deixar-lhe uma mensagem e responderemos para {email}. O que gostaria de nos dizer? (Escreva «cancelar» se preferir não o fazer.)",
    ask_message: "Obrigado, responderemos para {email}. O que gostaria de dizer à nossa equipa?",
    ask_message_again: "Escreva, por favor, a mensagem que quer deixar à nossa equipa.",
    invalid_email: "Desculpe, «{token}» não parece um endereço de e-mail completo: {problem}. Pode escrevê-lo novamente? Deve ser algo como nome@exemplo.com.",
    no_address: "Desculpe, não encontrei nenhum endereço de e-mail na sua mensagem. Pode escrevê-lo? Deve ser algo como nome@exemplo.com. (Ou escreva «cancelar».)",
    problem_space: "parece ter um espaço",
    problem_missing_local: "falta a parte antes do @",
    problem_missing_domain: "a parte depois do @ está incompleta",
    problem_trailing_dot: "termina com um ponto",
    problem_malformed: "tem um carácter ou uma combinação que um endereço não pode ter",
    gave_up_on_email: "Continuo sem conseguir ler um endereço de e-mail, por isso passei a conversa à nossa equipa sem ele, para que nada se perca. {promise}",
    message_taken: "Obrigado, passei a sua mensagem à nossa equipa. {promise} A resposta será enviada para {email}.",
    message_taken_no_email: "Obrigado, passei a sua mensagem à nossa equipa. {promise}",
    cancelled: "Sem problema, não passo nada. Posso ajudar em mais alguma coisa?",
    already_live: "Um colega já tem esta conversa e vai responder-lhe dentro de momentos.",
    already_offline: "A nossa equipa já tem a sua mensagem e vai responder-lhe.",
    no_handover: "Desculpe, não consigo ajudar com isso. Pode dizê-lo de outra forma ou perguntar outra coisa?",
};

const NL: HandoverTexts = HandoverTexts {
    live: "Ik geef je nu door aan een collega; die sluit zo bij dit gesprek aan.",
    ask_email: "Ons team is nu niet online, maar je kunt een bericht achterlaten; je krijgt dan antwoord per e-mail. Op welk e-mailadres kunnen we je bereiken? (Typ ‘annuleren’ als je dat liever niet doet.)",
    ask_message_known_email: "Ons team is nu niet online, maar je kunt een bericht achterlaten; je krijgt dan antwoord op {email}. Wat wil je ons laten weten? (Typ ‘annuleren’ als je dat liever niet doet.)",
    ask_message: "Bedankt, we antwoorden op {email}. Wat wil je ons team laten weten?",
    ask_message_again: "Typ het bericht dat je voor ons team wilt achterlaten.",
    invalid_email: "Sorry, ‘{token}’ lijkt geen volledig e-mailadres: {problem}. Wil je het nog een keer typen? Het ziet eruit als naam@voorbeeld.nl.",
    no_address: "Sorry, ik zie geen e-mailadres in je bericht. Wil je het typen? Het ziet eruit als naam@voorbeeld.nl. (Of typ ‘annuleren’.)",
    problem_space: "er lijkt een spatie in te staan",
    problem_missing_local: "het deel vóór de @ ontbreekt",
    problem_missing_domain: "het deel na de @ is niet compleet",
    problem_trailing_dot: "het eindigt op een punt",
    problem_malformed: "er staat een teken of combinatie in die niet in een e-mailadres kan",
    gave_up_on_email: "Ik kan nog steeds geen e-mailadres lezen, dus ik heb het gesprek zonder adres aan ons team doorgegeven, zodat er niets verloren gaat. {promise}",
    message_taken: "Bedankt, ik heb je bericht aan ons team doorgegeven. {promise} Het antwoord gaat naar {email}.",
    message_taken_no_email: "Bedankt, ik heb je bericht aan ons team doorgegeven. {promise}",
    cancelled: "Geen probleem, ik geef niets door. Kan ik je ergens anders mee helpen?",
    already_live: "Een collega heeft dit gesprek al en is zo bij je.",
    already_offline: "Ons team heeft je bericht al en neemt contact met je op.",
    no_handover: "Sorry, daar kan ik je niet mee helpen. Kun je het anders formuleren, of iets anders vragen?",
};

/// The texts of a language; English for languages without their own.
pub fn texts(language: &str) -> &'static HandoverTexts {
    match language {
        "es" => &ES,
        "pt" => &PT,
        "nl" => &NL,
        _ => &EN,
    }
}

impl HandoverTexts {
    /// What is wrong with an address, as a clause for `invalid_email`.
    pub fn problem(&self, problem: EmailProblem) -> &'static str {
        match problem {
            EmailProblem::NoAddress | EmailProblem::Malformed => self.problem_malformed,
            EmailProblem::Space => self.problem_space,
            EmailProblem::MissingLocal => self.problem_missing_local,
            EmailProblem::MissingDomain => self.problem_missing_domain,
            EmailProblem::TrailingDot => self.problem_trailing_dot,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_every_placeholder_where_english_has_it() {
        for lang in ["es", "pt", "nl"] {
            let (t, en) = (texts(lang), texts("en"));
            let pairs = [
                (t.ask_message_known_email, en.ask_message_known_email),
                (t.ask_message, en.ask_message),
                (t.invalid_email, en.invalid_email),
                (t.gave_up_on_email, en.gave_up_on_email),
                (t.message_taken, en.message_taken),
                (t.message_taken_no_email, en.message_taken_no_email),
            ];
            for (text, english) in pairs {
                for p in ["{email}", "{promise}", "{token}", "{problem}"] {
                    assert_eq!(
                        text.contains(p),
                        english.contains(p),
                        "{lang}: {p} in {text}"
                    );
                }
            }
        }
    }
}
