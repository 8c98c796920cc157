package provider

import (
	"os"
	"strings"
)

// Quiet by default. The plugin SDKs (terraform-plugin-go's protocol logger, the
// framework's logger) log every RPC at TRACE/DEBUG with a dozen fields, whatever
// Terraform does with it; Terraform discards a provider's logs unless TF_LOG or
// TF_LOG_PROVIDER asks for them, so without those variables that work is wasted
// (about a quarter of the provider's CPU on a no-change plan of 500 hooks).
//
// The SDK loggers take their levels from TF_LOG_SDK (root), TF_LOG_SDK_PROTO and
// TF_LOG_SDK_FRAMEWORK, and the provider's own from TF_LOG_PROVIDER_ORBIT, read once
// when the loggers are made. A subsystem whose variable is unset inherits the root
// logger's output level but still builds each entry before hclog drops it, so each
// level is set explicitly.

// asksForLogs reports whether a variable asks for provider logs: Terraform's TF_LOG
// and TF_LOG_PROVIDER (Terraform passes provider logs on only when one is set;
// TF_LOG_CORE and TF_LOG_PATH alone do not), TF_LOG_PROVIDER_<NAME>, and the SDKs'
// TF_LOG_SDK*. Any of them, even empty, leaves the logging exactly as the SDKs set
// it up.
func asksForLogs(name string) bool {
	return name == "TF_LOG" || strings.HasPrefix(name, "TF_LOG_PROVIDER") || strings.HasPrefix(name, "TF_LOG_SDK")
}

// quietLogLevels are what QuietLogsUnlessAsked sets when nothing asks for logs.
var quietLogLevels = []string{"TF_LOG_SDK", "TF_LOG_SDK_PROTO", "TF_LOG_SDK_FRAMEWORK", "TF_LOG_PROVIDER_ORBIT"}

// quietLogSettings returns the variables to set, given the environment as
// os.Environ gives it: none when any logging variable is present.
func quietLogSettings(environ []string) []string {
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if asksForLogs(name) {
			return nil
		}
	}
	return quietLogLevels
}

// QuietLogsUnlessAsked turns the SDK and provider loggers off when no logging
// variable is set. Call it before providerserver.Serve, which makes the loggers.
func QuietLogsUnlessAsked() error {
	for _, name := range quietLogSettings(os.Environ()) {
		if err := os.Setenv(name, "OFF"); err != nil {
			return err
		}
	}
	return nil
}
