package provider

import "testing"

func TestQuietLogSettings(t *testing.T) {
	for _, tc := range []struct {
		environ []string
		quiet   bool
	}{
		{nil, true},
		{[]string{"HOME=/root", "TF_IN_AUTOMATION=1", "TF_CLI_CONFIG_FILE=x"}, true},
		{[]string{"TF_LOG_CORE=TRACE"}, true},       // Terraform core only: provider logs are discarded
		{[]string{"TF_LOG_PATH=/tmp/tf.log"}, true}, // a path without a level logs nothing
		{[]string{"TF_LOG=INFO"}, false},
		{[]string{"TF_LOG_PROVIDER=TRACE"}, false},
		{[]string{"TF_LOG_PROVIDER_ORBIT=DEBUG"}, false},
		{[]string{"TF_LOG_SDK=DEBUG"}, false},
		{[]string{"TF_LOG_SDK_PROTO=TRACE"}, false},
		{[]string{"TF_LOG_SDK_FRAMEWORK=TRACE"}, false},
		{[]string{"A=1", "TF_LOG_SDK_PROTO_DATA_DIR=/tmp/proto"}, false},
	} {
		got := quietLogSettings(tc.environ)
		if quiet := len(got) > 0; quiet != tc.quiet {
			t.Errorf("quietLogSettings(%v) = %v, want quiet=%v", tc.environ, got, tc.quiet)
		}
	}
}
