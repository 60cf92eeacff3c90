package oracle

import (
	"encoding/hex"
	"encoding/json"
	"testing"
)

func TestScratch(t *testing.T) {
	key, _ := hex.DecodeString("000102030405060708090a0b0c0d0e0f")
	for _, c := range []struct {
		h    string
		keys [][]byte
	}{
		{"0082a44e6f6465a162a55365714e6f01", nil},
		{"0486a441646472a47f000001ab496e6361726e6174696f6e01a44d657461c0a44e6f6465a161a4506f7274cd1f0aa356736ea6010502000000", nil},
		{"0282a75061796c6f6164c0a55365714e6f01", nil},
		{"0282a75061796c6f6164a0a55365714e6f01", nil},
		{"0c6818b0f9086869", nil},
		{"0982a4416c676f00a3427566b400010822e5e40d9932a1c4949a52264ec1000101", nil},
		{"01a0a1a2a3a4a5a6a7a8a9aaabaa049cf511ed56abe8dde665375cdf613536641e3f5c9467b9e90fe9b01fd046", [][]byte{key}},
		{"00a0a1a2a3a4a5a6a7a8a9aaabaa049cf511ed56abe8dde665375cdf6143fe331893072dbf3500618b529d9fb8b6a15defdee9fdfd2c2201915ede88e6", [][]byte{key}},
		{"0188a44e61636bc3a44e6f6465a163a4506f7274cd1f0aa55365714e6f02aa536f7572636541646472a40a000001aa536f757263654e6f6465a161aa536f75726365506f7274cd1f0aa6546172676574a40a000002", nil},
	} {
		b, _ := hex.DecodeString(c.h)
		r, err := DecodePacket(b, c.keys)
		if err != nil {
			t.Errorf("%s: %v", c.h, err)
			continue
		}
		j, _ := json.Marshal(r)
		t.Logf("%s", j)
	}
	s, _ := hex.DecodeString("0683a44a6f696ec3a54e6f64657301ac5573657253746174654c656e0087a441646472a40a000001ab496e6361726e6174696f6e01a44d657461c0a44e616d65a161a4506f7274cd1f0aa5537461746500a356736ea6010502000000")
	r, err := DecodeStream(s, true, "", nil)
	j, _ := json.Marshal(r)
	t.Logf("%s %v", j, err)
}
