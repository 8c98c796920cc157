package apiwire

import (
	"encoding/json"
	"testing"
	"time"
)

// The API writes times in UTC to the second, as it did before the type existed
// (t.UTC().Format(time.RFC3339)), and reads any RFC 3339 value back.
func TestTimeOnTheWire(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 4, 5, 6, 7, 890123456, time.FixedZone("CET", 3600))
	got, err := json.Marshal(struct {
		At Time `json:"at"`
	}{At(at)})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"at":"2026-03-04T04:06:07Z"}`; string(got) != want {
		t.Fatalf("marshal = %s, want %s", got, want)
	}
	for in, want := range map[string]time.Time{
		`"2026-03-04T04:06:07Z"`:           time.Date(2026, 3, 4, 4, 6, 7, 0, time.UTC),
		`"2026-03-04T05:06:07.5+01:00"`:    time.Date(2026, 3, 4, 4, 6, 7, 5e8, time.UTC),
		`null`:                             {},
		`"2026-03-04T04:06:07.000001000Z"`: time.Date(2026, 3, 4, 4, 6, 7, 1000, time.UTC),
	} {
		var v Time
		if err := json.Unmarshal([]byte(in), &v); err != nil {
			t.Fatalf("unmarshal %s: %v", in, err)
		}
		if !v.Equal(want) {
			t.Errorf("unmarshal %s = %v, want %v", in, v.Time, want)
		}
	}
	var v Time
	if err := json.Unmarshal([]byte(`"yesterday"`), &v); err == nil {
		t.Error("unmarshal of a non-RFC 3339 string succeeded")
	}
}
