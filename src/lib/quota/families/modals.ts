// The modal family: dialogs and menus that wait for a key, each a template of the phrases that
// mark it (as 2.1.328 draws them: test/fixtures/panes/r*.txt are recorded from the binary), and the
// launch failures that leave a shell instead of a session. Pure text tables.

/** A line that only an open dialog shows. */
export const MODAL_PHRASE = new RegExp(
  [
    String.raw`Do you want to (?:proceed|make this edit|create|allow|run|fetch|overwrite|delete|use this API key)`,
    'Enter to confirm',
    'Esc to (?:cancel|exit)',
    'Press Enter to (?:continue|retry)',
    'Quick safety check',
    'Do you trust the files in this folder',
    'Bypass Permissions mode',
    String.raw`What do you want to do\?`,
    'Select login method',
    '^Wait for limit to reset',
    // First launch (2.1.328): the theme picker has no input box and no "Enter to confirm".
    "^Let's get started",
    '^Choose the text style',
    String.raw`^Syntax (?:theme: .*\(ctrl\+t to disable\)|highlighting (?:disabled|enabled))`,
    '^Detected a custom API key',
    String.raw`^Resume this conversation\?`,
    '^This conversation has been inactive for',
    "^Browser didn't open",
    '^Paste code here',
  ].join('|'),
  'i',
)

/** Which dialog a body of text is: the first template that matches names it. */
const MODALS: [RegExp, string][] = [
  [/Choose the text style|Let's get started|Syntax theme:|\bDark mode\b.*\bLight mode\b/i, 'theme_picker'],
  [/Bypass Permissions mode|Yes, I accept/i, 'bypass_permissions_warning'],
  [/trust (?:this|the files in this) folder|Quick safety check/i, 'folder_trust'],
  [/Detected a custom API key|Do you want to use this API key/i, 'api_key_approval'],
  [/Resume this conversation\?|Resume from summary|Start a new conversation/i, 'resume_conversation'],
  [/Select login method|Browser didn't open|Paste code here/i, 'login'],
  [
    /limit to reset|continue automatically|Add funds|Switch to usage credits|extra usage|more usage|lower priority|Upgrade your plan|spend limit/i,
    'limit_menu',
  ],
  [/Do you want to|don't ask again|tell Claude what to do differently|Permission rule/i, 'permission_prompt'],
  [/Press Enter to/i, 'press_enter'],
]

/** Where a dialog's own words start, when a logo or a banner is drawn above it. */
export const MODAL_HEADING = /Let's get started|WARNING: Claude Code running|Accessing workspace|Quick safety check|Detected a custom API key|Resume this conversation|Select login method|What do you want to do\?|Do you want to/i

export function modalPattern(body: string): string {
  return MODALS.find(([regex]) => regex.test(body))?.[1] ?? 'menu'
}

/** What Claude Code prints when it exits before its screen comes up (a bad launch line, a missing conversation). */
export const LAUNCH_FAILURE =
  /^(?:No conversation found (?:with session ID|to continue)|Error: Settings file not found|Error: Cannot use settings file|error: unknown option|error: too many arguments|--dangerously-skip-permissions cannot be used with root|Failed to resume session|(?:\S*: )?(?:line \d+: )?claude(?:\.exe)?: (?:command )?not found|zsh: command not found: claude|(?:bash: )?\S*claude\S*: No such file or directory)/i
