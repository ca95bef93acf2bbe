package insights

// Interrupt is a status.errorCode Microsoft documents as an expected
// interruption of a sign-in or sign-up, not an error: an event with it is
// neither a success nor a failure.
type Interrupt struct {
	Code   int64
	What   string
	Source string // the Microsoft page that documents it as not an error
}

// troubleshootSignUp is External ID's page of sign-up errors; it lists the
// codes that "are not actual errors. They indicate expected interruptions".
const troubleshootSignUp = "https://learn.microsoft.com/entra/external-id/customers/howto-troubleshoot-sign-up-errors"

// Interrupts is the one table of interrupt codes. Only codes Microsoft
// documents as "not actual errors" are here. The AADSTS reference
// (learn.microsoft.com/entra/identity-platform/reference-error-codes) names
// more codes "...Interrupt" (16000, 50072, 50074, 50125, 50168), but
// documents them as conditions the user or admin must act on (enrol for MFA,
// pass the MFA challenge, reset a password), not as expected steps, so they
// stay failures.
func Interrupts() []Interrupt {
	return []Interrupt{
		{Code: 50140, What: "the 'Keep me signed in' prompt of a sign-in", Source: troubleshootSignUp +
			"; reference-error-codes: KmsiInterrupt"},
		{Code: 1002013, What: "the email one-time-passcode prompt of a sign-up", Source: troubleshootSignUp},
	}
}

// IsInterrupt reports whether errorCode is one of Interrupts.
func IsInterrupt(errorCode int64) bool {
	for _, i := range Interrupts() {
		if i.Code == errorCode {
			return true
		}
	}
	return false
}

// SignUpStages are the values of selfServiceSignUp.signUpStage in the order
// of a flow (resources/signupstage in Graph beta), the order of the
// sign-up funnel.
func SignUpStages() []string {
	return []string{"credentialCollection", "credentialValidation", "credentialFederation", "consent",
		"attributeCollectionAndValidation", "userCreation", "tenantConsent"}
}

// SignUpCreatesUser is the stage whose success is a completed sign-up.
const SignUpCreatesUser = "userCreation"
