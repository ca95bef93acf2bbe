package graphsim

// Interrupts are status codes Microsoft documents as "not actual errors.
// They indicate expected interruptions that occur due to the interactive
// nature of the sign-up process" (entra-docs
// docs/identity/monitoring-health/howto-troubleshoot-sign-up-errors.md):
// an event with one is neither a success nor a failure.
const (
	// CodeEmailOTPPrompt (1002013): "User is prompted to enter Email
	// One-Time-Passcode to verify ownership of email address", on the
	// credentialValidation stage of a local account's sign-up.
	CodeEmailOTPPrompt = 1002013
	// CodeKeepMeSignedIn (50140): "User is prompted with option to 'Keep me
	// signed in'", a sign-in event a moment before the successful one, with
	// the same correlationId.
	CodeKeepMeSignedIn = 50140
)

// InterruptCodes returns the interrupt codes graphsim sends: 1002013 on
// sign-ups and 50140 on sign-ins.
func InterruptCodes() []int { return []int{CodeEmailOTPPrompt, CodeKeepMeSignedIn} }

// IsInterrupt reports whether a status.errorCode is one of InterruptCodes.
func IsInterrupt(code int) bool { return code == CodeEmailOTPPrompt || code == CodeKeepMeSignedIn }

// Interrupt reports whether the sign-in is a "Keep me signed in"
// interrupt rather than an attempt.
func (e *SignInEvent) Interrupt() bool { return IsInterrupt(e.Status.ErrorCode) }

// Interrupt reports whether the sign-up event is the email passcode
// prompt rather than a step that succeeded or failed.
func (e *SignUpEvent) Interrupt() bool { return IsInterrupt(e.Status.ErrorCode) }

// Failed reports whether the sign-up event is a failed step: a non-zero
// code that is not an interrupt.
func (e *SignUpEvent) Failed() bool { return e.Status.ErrorCode != 0 && !e.Interrupt() }

// SignedUp reports whether the event created a user: a userCreation
// stage with errorCode 0, one per completed flow, which the signUps report
// counts.
func (e *SignUpEvent) SignedUp() bool {
	return e.SignUpStage == StageUserCreation && e.Status.ErrorCode == 0
}
