package pattern

import "testing"

func TestLuhnAndIBAN(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want bool
	}{
		{"4111111111111111", true},
		{"4111111111111112", false},
		{"4242424242424242", true},
		{"79927398713", true},
		{"79927398710", false},
	} {
		if got := luhn(tt.in); got != tt.want {
			t.Errorf("luhn(%s) = %v, want %v", tt.in, got, tt.want)
		}
	}
	if !isCardNumber("4111111111111111") || isCardNumber("79927398713") {
		t.Error("isCardNumber wrong on a 16-digit card or an 11-digit Luhn number")
	}
	for _, tt := range []struct {
		in   string
		want bool
	}{
		{"GB82 WEST 1234 5698 7654 32", true},
		{"GB82 WEST 1234 5698 7654 33", false},
		{"DE89370400440532013000", true},
		{"FR1420041010050500013M02606", true},
		{"DE8937040044053201300", false},
	} {
		if got := validIBAN(tt.in); got != tt.want {
			t.Errorf("validIBAN(%s) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestDetect(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []string // codes Detect must return; nil: none
	}{
		{"mail me at bob.smith@example.com", []string{Identifier}},
		{"call 555-867-5309 tonight", []string{Identifier}},
		{"card 4111 1111 1111 1111", []string{Identifier}},
		{"gb82 west 1234 5698 7654 32", []string{Identifier}},
		{"meet at 40.7128, -74.0060", []string{Location}},
		{"she lives at 42 elm street", []string{Location}},
		{"apt 4b, third floor", []string{Location}},
		{"my little one is 3yo today", []string{Age}},
		{"grandma's 90th was a blast", []string{Age}},
		{"he makes $45 an hour", []string{Finance}},
		{"she's only 150 cm", []string{Appearance}},
		{"he's 6 foot 3", []string{Appearance}},
		{"email me: s a m . k e l l y @ g m a i l . c o m", []string{Identifier}},
		{"call 0 7 7 0 0 9 0 0 1 2 3", []string{Identifier}},
		{"booking reference qx7t9l", []string{Identifier}},
		{"driving licence no. morga753116sm9ij inside", []string{Identifier}},
		{"patient id 00492-kl for mum", []string{Identifier}},
		{"patient id pending", nil},
		{"case closed", nil},
		{"order no. 55123 arrived", []string{Identifier}},
		{"she's two metres tall, icon", []string{Appearance}},
		{"he is 1.9 m and still ducks", []string{Appearance}},
		{"mum got 400 votes, legend", []string{Politics}},
		{"our flat on 12 rue cler", []string{Location}},
		// Benign look-alikes.
		{"the tree is 2 metres tall", nil},
		{"that post got 400 likes", nil},
		{"a b c d e f g h i", nil},
		{"booking reference pending", nil},
		{"road trip 2024-06-01", nil},
		{"stay 6 feet apart", nil},
		{"our 25th anniversary", nil},
		{"room 404 not found", nil},
		{"12/07/2024 was a great day", nil},
		{"score was 3-1 at half time", nil},
	} {
		got := map[string]bool{}
		for _, c := range Detect(tt.in) {
			got[c] = true
		}
		if len(tt.want) == 0 && len(got) > 0 {
			t.Errorf("Detect(%q) = %v, want nothing", tt.in, got)
		}
		for _, c := range tt.want {
			if !got[c] {
				t.Errorf("Detect(%q) = %v, want %s", tt.in, got, c)
			}
		}
	}
}

// FuzzDetect checks that Detect never panics, returns only its codes and
// is deterministic, on any bytes.
func FuzzDetect(f *testing.F) {
	for _, s := range []string{"", "bob@example.com", "+1 (555) 867-5309", "40°26'46\"n 79°58'56\"w", "gb82 west 1234 5698 7654 32",
		"42 elm street", "$45 an hour", "5'2", "grandma's 90th", "apt 4b", "\xff\xfe", "0000000000000000000000000"} {
		f.Add(s)
	}
	codes := map[string]bool{Politics: true, Identifier: true, Location: true, Age: true, Finance: true, Appearance: true}
	f.Fuzz(func(t *testing.T, s string) {
		a := Detect(s)
		for _, c := range a {
			if !codes[c] {
				t.Fatalf("Detect(%q) returned %q", s, c)
			}
		}
		if b := Detect(s); len(a) != len(b) {
			t.Fatalf("Detect(%q) not deterministic: %v then %v", s, a, b)
		}
	})
}
