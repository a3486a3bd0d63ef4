use std::sync::atomic::{AtomicUsize, Ordering};

use leptos::ev::KeyboardEvent;
use leptos::prelude::*;

use crate::controller::ChatController;
use chat_protocol::{format_number, ParameterRules, Rule};
use chat_widget_core::settings::Steering;
use chat_widget_core::settings::{within, Field, Settings, MAX_STOPS};
use chat_widget_core::strings::fill;

/// Numbers the panels on a page, so each control's id is unique.
static PANELS: AtomicUsize = AtomicUsize::new(0);

/// Every request parameter, editable: each control shows its documented range, an empty field is
/// "not set" (and not sent), and a value out of range is refused at the control with the reason.
/// What a relay's policy pins is not offered (its system prompt, a fixed value, the models it
/// does not offer, what it refuses), its ranges are the controls' ranges, and a value beyond one
/// is said at its control with the value that is sent instead. Esc closes the panel.
#[component]
pub fn SettingsPanel(
    /// The chat box's controller.
    controller: ChatController,
    /// Whether the panel is open; closing it is setting this to false.
    open: RwSignal<bool>,
) -> impl IntoView {
    let settings = controller.settings();
    let prefix = format!("cw-settings-{}", PANELS.fetch_add(1, Ordering::Relaxed));
    let tools = controller.tool_names();
    let (parameters, strings) = controller
        .config()
        .with_value(|config| (config.parameters(), config.strings.clone()));
    let checked_tools = tools.clone();
    // What the relay's policy pins, as it stands when the panel opens (it arrives as the chat
    // box starts): read once, not followed, which keeps the panel as light as it was.
    let policy = controller.policy().get_untracked();
    let pinned = policy.clone();
    let problems = Memo::new(move |_| {
        settings.with(|settings| {
            let mut problems = settings
                .apply(&parameters, &strings, &checked_tools)
                .err()
                .unwrap_or_default();
            for (field, beyond) in settings.beyond(&pinned, &strings) {
                if !problems.iter().any(|(at, _)| *at == field) {
                    problems.push((field, beyond));
                }
            }
            problems
        })
    });
    let problem = move |field: Field| {
        problems.with(|problems| {
            problems
                .iter()
                .find(|(at, _)| *at == field)
                .map(|(_, problem)| problem.clone())
        })
    };
    let field_prefix = prefix.clone();
    let not_set = controller.text(|s| s.not_set());
    let field_not_set = not_set.clone();
    let text_field = move |field: Field,
                           name: &'static str,
                           label: String,
                           hint: String,
                           get: fn(&Settings) -> String,
                           set: fn(&mut Settings, String)| {
        let id = format!("{field_prefix}-{name}");
        let hint_id = format!("{id}-hint");
        let problem_id = format!("{id}-problem");
        let described = format!("{hint_id} {problem_id}");
        view! {
            <div class="cw-field">
                <label class="cw-field__label" for=id.clone()>{label}</label>
                <input
                    id=id
                    class="cw-field__input"
                    type="text"
                    inputmode="decimal"
                    autocomplete="off"
                    placeholder=field_not_set.clone()
                    data-setting=name
                    aria-describedby=described
                    aria-invalid=move || problem(field).is_some().to_string()
                    prop:value=move || settings.with(get)
                    on:input=move |event| settings.update(|settings| set(settings, event_target_value(&event)))
                />
                <span class="cw-field__hint" id=hint_id>{hint}</span>
                <span class="cw-field__problem" id=problem_id aria-live="polite">{move || problem(field)}</span>
            </div>
        }
    };
    let stop_label = controller.text(|s| s.stop_sequence());
    let stops = (0..MAX_STOPS)
        .map(|index| {
            let id = format!("{prefix}-stop-{index}");
            view! {
                <input
                    id=id
                    class="cw-field__input"
                    type="text"
                    autocomplete="off"
                    placeholder=not_set.clone()
                    aria-label=fill(&stop_label, &[&(index + 1)])
                    data-setting=format!("stop-{index}")
                    prop:value=move || settings.with(|settings| settings.stop.get(index).cloned().unwrap_or_default())
                    on:input=move |event| {
                        let value = event_target_value(&event);
                        settings.update(|settings| {
                            settings.stop.resize(MAX_STOPS.max(settings.stop.len()), String::new());
                            settings.stop[index] = value;
                        });
                    }
                />
            }
        })
        .collect_view();
    let (token_label, bias_label, remove_label, remove) = (
        controller.text(|s| s.token_id_row()),
        controller.text(|s| s.bias_row()),
        controller.text(|s| s.remove_row()),
        controller.text(|s| s.remove()),
    );
    let bias_rows = move || {
        let rows = settings.with(|settings| settings.logit_bias.len());
        (0..rows)
            .map(|row| {
                let cell = move |get: fn(&(String, String)) -> &String| {
                    settings.with(|settings| settings.logit_bias.get(row).map(get).cloned().unwrap_or_default())
                };
                view! {
                    <div class="cw-bias" data-bias-row=row>
                        <input
                            class="cw-field__input"
                            type="text"
                            inputmode="numeric"
                            aria-label=fill(&token_label, &[&(row + 1)])
                            data-setting="bias-token"
                            aria-invalid=move || problem(Field::LogitBias(row)).is_some().to_string()
                            prop:value=move || cell(|(token, _)| token)
                            on:input=move |event| {
                                let value = event_target_value(&event);
                                settings.update(|settings| {
                                    if let Some(pair) = settings.logit_bias.get_mut(row) {
                                        pair.0 = value;
                                    }
                                });
                            }
                        />
                        <input
                            class="cw-field__input"
                            type="text"
                            inputmode="decimal"
                            aria-label=fill(&bias_label, &[&(row + 1)])
                            data-setting="bias-value"
                            aria-invalid=move || problem(Field::LogitBias(row)).is_some().to_string()
                            prop:value=move || cell(|(_, bias)| bias)
                            on:input=move |event| {
                                let value = event_target_value(&event);
                                settings.update(|settings| {
                                    if let Some(pair) = settings.logit_bias.get_mut(row) {
                                        pair.1 = value;
                                    }
                                });
                            }
                        />
                        <button
                            type="button"
                            class="cw-button cw-button--quiet"
                            aria-label=fill(&remove_label, &[&(row + 1)])
                            on:click=move |_| settings.update(|settings| {
                                if row < settings.logit_bias.len() {
                                    settings.logit_bias.remove(row);
                                }
                            })
                        >
                            {remove.clone()}
                        </button>
                        <span class="cw-field__problem" aria-live="polite">{move || problem(Field::LogitBias(row))}</span>
                    </div>
                }
            })
            .collect_view()
    };
    // `selected` on each option, not `value` on the select: the options do not exist yet when the
    // select's properties are set.
    let option = move |value: String, label: String| {
        let current = value.clone();
        view! {
            <option value=value selected=move || settings.with(|settings| settings.tool_choice == current)>
                {label}
            </option>
        }
    };
    let choices = std::iter::once((String::new(), controller.text(|s| s.not_set())))
        .chain(chat_protocol::ToolChoice::MODES.map(|mode| (mode.to_owned(), mode.to_owned())))
        .map(|(value, label)| option(value, label))
        .collect_view();
    let call_tool = controller.text(|s| s.call_tool());
    let tool_options = tools
        .iter()
        .map(|name| option(name.clone(), fill(&call_tool, &[name])))
        .collect_view();
    let has_tools = !tools.is_empty();
    let text = move |pick: fn(&chat_widget_core::Strings) -> &str| controller.text(pick);
    let on_keydown = move |event: KeyboardEvent| {
        if event.key() == "Escape" {
            // Esc closes the settings, not the launcher's panel around them.
            event.prevent_default();
            event.stop_propagation();
            open.set(false);
        }
    };
    // The settings that steer the model are offered only where the config lets the person change them.
    let editable = controller
        .config()
        .with_value(|config| config.editable.clone());
    let model_field = (editable.contains(&Steering::Model) && policy.models.is_empty()).then(|| {
        let prefix = prefix.clone();
        view! {
                    <div class="cw-field">
                        <label class="cw-field__label" for=format!("{prefix}-model")>{text(|s| s.model())}</label>
                        <input
                            id=format!("{prefix}-model")
                            class="cw-field__input"
                            type="text"
                            autocomplete="off"
                            data-setting="model"
                            aria-invalid=move || problem(Field::Model).is_some().to_string()
                            prop:value=move || settings.with(|settings| settings.model.clone())
                            on:input=move |event| settings.update(|settings| settings.model = event_target_value(&event))
                        />
                        <span class="cw-field__problem" aria-live="polite">{move || problem(Field::Model)}</span>
                    </div>
        }
    });
    let system_field = (editable.contains(&Steering::SystemPrompt) && !policy.system_prompt).then(|| {
        let prefix = prefix.clone();
        view! {
                    <div class="cw-field cw-field--wide">
                        <label class="cw-field__label" for=format!("{prefix}-system")>{text(|s| s.system_prompt())}</label>
                        <textarea
                            id=format!("{prefix}-system")
                            class="cw-field__input"
                            rows="2"
                            placeholder=text(|s| s.not_set())
                            data-setting="system_prompt"
                            prop:value=move || settings.with(|settings| settings.system_prompt.clone())
                            on:input=move |event| settings.update(|settings| settings.system_prompt = event_target_value(&event))
                        ></textarea>
                    </div>
        }
    });
    // Where the policy names the models, the person picks one of them (when it offers more
    // than one).
    let model_prefix = prefix.clone();
    let model_label = text(|s| s.model());
    let policy_models = (editable.contains(&Steering::Model) && policy.models.len() > 1).then(|| {
        let models = policy.models.clone();
        {
            let id = format!("{model_prefix}-model-choice");
            let options = models
                .into_iter()
                .map(|model| {
                    let (current, label) = (model.clone(), model.clone());
                    view! {
                        <option value=model selected=move || settings.with(|settings| settings.model == current)>
                            {label}
                        </option>
                    }
                })
                .collect_view();
            view! {
                <div class="cw-field">
                    <label class="cw-field__label" for=id.clone()>{model_label.clone()}</label>
                    <select
                        id=id
                        class="cw-field__input"
                        data-setting="model"
                        on:change=move |event| settings.update(|settings| settings.model = event_target_value(&event))
                    >
                        {options}
                    </select>
                </div>
            }
        }
    });
    let numbers = [
        (
            Field::Temperature,
            "temperature",
            text(|s| s.temperature()),
            (0.0, 2.0),
            "0 to 2".to_owned(),
            (|rules: &ParameterRules| rules.temperature) as fn(&ParameterRules) -> Option<Rule>,
            (|s: &Settings| s.temperature.clone()) as fn(&Settings) -> String,
            (|s: &mut Settings, v| s.temperature = v) as fn(&mut Settings, String),
        ),
        (
            Field::TopP,
            "top_p",
            text(|s| s.top_p()),
            (0.1, 1.0),
            "0.1 to 1".to_owned(),
            |rules| rules.top_p,
            |s| s.top_p.clone(),
            |s, v| s.top_p = v,
        ),
        (
            Field::MaxTokens,
            "max_tokens",
            text(|s| s.max_tokens()),
            (1.0, f64::from(u32::MAX)),
            text(|s| s.max_tokens_hint()),
            |rules| rules.max_tokens,
            |s| s.max_tokens.clone(),
            |s, v| s.max_tokens = v,
        ),
        (
            Field::FrequencyPenalty,
            "frequency_penalty",
            text(|s| s.frequency_penalty()),
            (-2.0, 2.0),
            "-2 to 2".to_owned(),
            |rules| rules.frequency_penalty,
            |s| s.frequency_penalty.clone(),
            |s, v| s.frequency_penalty = v,
        ),
        (
            Field::PresencePenalty,
            "presence_penalty",
            text(|s| s.presence_penalty()),
            (-2.0, 2.0),
            "-2 to 2".to_owned(),
            |rules| rules.presence_penalty,
            |s| s.presence_penalty.clone(),
            |s, v| s.presence_penalty = v,
        ),
    ]
    .into_iter()
    // A parameter the policy fixes is not offered; one it bounds shows its range.
    .filter_map(|(field, name, label, (min, max), usual, rule, get, set)| {
        let hint = match rule(&policy.parameters) {
            Some(Rule::Fixed(_)) => return None,
            bounds @ Some(Rule::Range { .. }) => {
                let (min, max) = within(bounds, min, max);
                format!("{} to {}", format_number(min), format_number(max))
            }
            None => usual,
        };
        Some(text_field(field, name, label, hint, get, set))
    })
    .collect_view();
    let stop_field = (!policy.no_stop).then(|| {
        view! {
            <fieldset class="cw-field cw-field--wide">
                <legend class="cw-field__label">{text(|s| s.stop_sequences())}</legend>
                <div class="cw-stops">{stops}</div>
            </fieldset>
        }
    });
    let bias_field = (!policy.no_logit_bias).then(|| {
        view! {
            <fieldset class="cw-field cw-field--wide">
                <legend class="cw-field__label">{text(|s| s.logit_bias())}</legend>
                {bias_rows}
                <button
                    type="button"
                    class="cw-button cw-button--quiet"
                    on:click=move |_| settings.update(|settings| settings.logit_bias.push((String::new(), String::new())))
                >
                    {text(|s| s.add_bias())}
                </button>
            </fieldset>
        }
    });
    let tool_field = editable.contains(&Steering::ToolChoice).then(|| {
        let prefix = prefix.clone();
        view! {
                    <div class="cw-field">
                        <label class="cw-field__label" for=format!("{prefix}-tool-choice")>{text(|s| s.tool_choice())}</label>
                        <select
                            id=format!("{prefix}-tool-choice")
                            class="cw-field__input"
                            data-setting="tool_choice"
                            disabled=!has_tools
                            on:change=move |event| settings.update(|settings| settings.tool_choice = event_target_value(&event))
                        >
                            {choices}
                            {tool_options}
                        </select>
                        <span class="cw-field__problem" aria-live="polite">{move || problem(Field::ToolChoice)}</span>
                    </div>
        }
    });
    view! {
        <form class="cw-settings" aria-label=controller.text(|s| s.settings()) on:keydown=on_keydown on:submit=|event| event.prevent_default()>
            {model_field}
            {policy_models}
            {system_field}
            {numbers}
            {stop_field}
            {bias_field}
            <div class="cw-field">
                <label class="cw-field__check">
                    <input
                        type="checkbox"
                        data-setting="stream"
                        prop:checked=move || settings.with(|settings| settings.stream)
                        on:change=move |event| settings.update(|settings| settings.stream = event_target_checked(&event))
                    />
                    " " {text(|s| s.stream_replies())}
                </label>
            </div>
            {tool_field}
            <div class="cw-settings__actions">
                <button type="button" class="cw-button cw-button--quiet" on:click=move |_| controller.reset_settings()>
                    {controller.text(|s| s.reset_settings())}
                </button>
                <button type="button" class="cw-button" on:click=move |_| open.set(false)>
                    {controller.text(|s| s.done())}
                </button>
            </div>
        </form>
    }
}
