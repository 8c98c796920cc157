//go:build linux

package provider

import (
	"bytes"
	"context"
	"os"
	"slices"
	"syscall"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	"github.com/hashicorp/terraform-plugin-log/tfsdklog"
	"github.com/hashicorp/terraform-plugin-log/tfsdklogtest"
)

// clearLogEnv unsets every logging variable for the test (t.Setenv restores them).
func clearLogEnv(t *testing.T) {
	t.Helper()
	names := slices.Clone(quietLogLevels)
	for _, kv := range os.Environ() {
		name, _, _ := bytes.Cut([]byte(kv), []byte("="))
		if asksForLogs(string(name)) {
			names = append(names, string(name))
		}
	}
	for _, name := range names {
		t.Setenv(name, "")
		if err := os.Unsetenv(name); err != nil {
			t.Fatal(err)
		}
	}
}

// sdkLogEntries makes the loggers the way terraform-plugin-go's tf6server does for
// each RPC (JSON to the stderr of process start, levels from TF_LOG_SDK,
// TF_LOG_SDK_PROTO and TF_LOG_PROVIDER_ORBIT; the framework adds its own from
// TF_LOG_SDK_FRAMEWORK), serves GetProviderSchema and ValidateResourceConfig through
// the framework, and counts the entries written to file descriptor 2.
func sdkLogEntries(t *testing.T) int {
	t.Helper()
	out, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	saved, err := syscall.Dup(2)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Dup3(int(out.Fd()), 2, 0); err != nil {
		t.Fatal(err)
	}
	func() {
		defer func() {
			if err := syscall.Dup3(saved, 2, 0); err != nil {
				panic(err)
			}
			_ = syscall.Close(saved)
		}()
		ctx := tfsdklog.NewRootSDKLogger(context.Background(), tfsdklog.WithLevelFromEnv("TF_LOG_SDK"), tfsdklog.WithStderrFromInit())
		ctx = tfsdklog.NewSubsystem(ctx, "proto", tfsdklog.WithLevelFromEnv("TF_LOG_SDK_PROTO"))
		ctx = tfsdklog.NewRootProviderLogger(ctx, tflog.WithLevelFromEnv("TF_LOG_PROVIDER", "ORBIT"), tfsdklog.WithStderrFromInit())
		tfsdklog.SubsystemTrace(ctx, "proto", "Received request")

		server := providerserver.NewProtocol6(New("test")())()
		schema, err := server.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{})
		if err != nil || len(schema.Diagnostics) > 0 {
			t.Errorf("GetProviderSchema: %v %v", err, schema.Diagnostics)
		}
		if _, err := server.ValidateResourceConfig(ctx, &tfprotov6.ValidateResourceConfigRequest{TypeName: "orbit_space"}); err != nil {
			t.Error(err)
		}
	}()
	if _, err := out.Seek(0, 0); err != nil {
		t.Fatal(err)
	}
	entries, err := tfsdklogtest.MultilineJSONDecode(out)
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

func TestQuietLogsWhenNothingAsks(t *testing.T) {
	clearLogEnv(t)
	if n := sdkLogEntries(t); n == 0 {
		t.Fatal("without QuietLogsUnlessAsked the SDK loggers wrote nothing; the test cannot tell quiet from loud")
	}
	if err := QuietLogsUnlessAsked(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"TF_LOG_SDK", "TF_LOG_SDK_PROTO", "TF_LOG_SDK_FRAMEWORK", "TF_LOG_PROVIDER_ORBIT"} {
		if got := os.Getenv(name); got != "OFF" {
			t.Errorf("%s = %q, want OFF", name, got)
		}
	}
	if n := sdkLogEntries(t); n != 0 {
		t.Errorf("with no TF_LOG* variable the loggers wrote %d entries, want 0", n)
	}
}

func TestQuietLogsLeavesAskedLoggingAlone(t *testing.T) {
	for _, set := range []struct{ name, value string }{
		{"TF_LOG", "TRACE"},
		{"TF_LOG", ""},
		{"TF_LOG_PROVIDER", "DEBUG"},
		{"TF_LOG_PROVIDER_ORBIT", "TRACE"},
		{"TF_LOG_SDK", "TRACE"},
		{"TF_LOG_SDK_PROTO", "DEBUG"},
		{"TF_LOG_SDK_FRAMEWORK", "TRACE"},
	} {
		t.Run(set.name+"="+set.value, func(t *testing.T) {
			clearLogEnv(t)
			t.Setenv(set.name, set.value)
			before := os.Environ()
			want := sdkLogEntries(t)
			if err := QuietLogsUnlessAsked(); err != nil {
				t.Fatal(err)
			}
			if after := os.Environ(); !slices.Equal(before, after) {
				t.Errorf("environment changed although %s is set:\nbefore %v\nafter  %v", set.name, before, after)
			}
			if got := sdkLogEntries(t); got != want || got == 0 {
				t.Errorf("with %s set the loggers wrote %d entries, want %d (as without QuietLogsUnlessAsked), and some", set.name, got, want)
			}
		})
	}
}
