package freeradius

import (
	"reflect"
	"testing"
)

func TestParseDetail(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []Record
	}{
		{"empty", "", nil},
		{
			"one record",
			"Thu Nov 26 01:35:30 2026\n\tAcct-Status-Type = Start\n\tAcct-Session-Id = \"sess-42\"\n\tAcct-Input-Octets = 0\n\tNAS-IP-Address = 198.19.0.1\n\n",
			[]Record{{HeaderKey: "Thu Nov 26 01:35:30 2026", "Acct-Status-Type": "Start", "Acct-Session-Id": "sess-42",
				"Acct-Input-Octets": "0", "NAS-IP-Address": "198.19.0.1"}},
		},
		{
			"two records",
			"Thu Nov 26 01:35:30 2026\n\tAcct-Status-Type = Start\n\nThu Nov 26 01:35:31 2026\n\tAcct-Status-Type = Stop\n\n",
			[]Record{
				{HeaderKey: "Thu Nov 26 01:35:30 2026", "Acct-Status-Type": "Start"},
				{HeaderKey: "Thu Nov 26 01:35:31 2026", "Acct-Status-Type": "Stop"},
			},
		},
		{
			"escapes",
			"Thu Nov 26 01:35:30 2026\n\tUser-Name = \"a \\\"b\\\" \\\\ c\\303\\251\"\n\tClass = 0x7033\n",
			[]Record{{HeaderKey: "Thu Nov 26 01:35:30 2026", "User-Name": `a "b" \ cé`, "Class": "0x7033"}},
		},
		{
			"value with \" = \"",
			"Thu Nov 26 01:35:30 2026\n\tReply-Message = \"x = y\"\n",
			[]Record{{HeaderKey: "Thu Nov 26 01:35:30 2026", "Reply-Message": "x = y"}},
		},
		{
			"bad quoting kept",
			"Thu Nov 26 01:35:30 2026\n\tUser-Name = \"a\\q\"\n",
			[]Record{{HeaderKey: "Thu Nov 26 01:35:30 2026", "User-Name": `a\q`}},
		},
		{
			"repeated attribute keeps the last",
			"Thu Nov 26 01:35:30 2026\n\tClass = 0x01\n\tClass = 0x02\n",
			[]Record{{HeaderKey: "Thu Nov 26 01:35:30 2026", "Class": "0x02"}},
		},
		{
			"cut short",
			"Thu Nov 26 01:35:30 2026\n\tAcct-Status-Type = Start\n\tAcct-Sess",
			[]Record{{HeaderKey: "Thu Nov 26 01:35:30 2026", "Acct-Status-Type": "Start"}},
		},
		{"attributes without header", "\tAcct-Status-Type = Start\n\n", nil},
		{"crlf", "Thu Nov 26 01:35:30 2026\r\n\tAcct-Status-Type = Start\r\n\r\n",
			[]Record{{HeaderKey: "Thu Nov 26 01:35:30 2026", "Acct-Status-Type": "Start"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseDetail(tt.text); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseDetail(%q)\n got %v\nwant %v", tt.text, got, tt.want)
			}
		})
	}
}

// FuzzParseDetail checks that any text parses without panicking into records that each have
// a header.
func FuzzParseDetail(f *testing.F) {
	f.Add("Thu Nov 26 01:35:30 2026\n\tAcct-Status-Type = Start\n\tAcct-Session-Id = \"s\\001\"\n\n")
	f.Add("x\n\t = \n\t\"\n \"a\" = \"\\\"\n\n\n")
	f.Fuzz(func(t *testing.T, text string) {
		for _, r := range parseDetail(text) {
			if r.Header() == "" {
				t.Errorf("record without header: %v", r)
			}
		}
	})
}
