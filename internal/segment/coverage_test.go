package segment

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCoverage(t *testing.T) {
	tests := []struct {
		in, out, missing string
		err              string
	}{
		{in: "", out: "", missing: ""},
		{in: "0/1", out: "", missing: ""},
		{in: "2/4", out: "2/4", missing: "0-1,3/4"},
		{in: "0,1/4", out: "0-1/4", missing: "2-3/4"},
		{in: "0-1,3/8", out: "0-1,3/8", missing: "2,4-7/8"},
		{in: "0-3/4", out: "", missing: ""},
		{in: "999/1000", out: "999/1000", missing: "0-998/1000"},
		{in: "4/4", err: "share 4 is not below 4; shares are numbered from 0 to 3"},
		{in: "1", err: `has no "/"`},
		{in: "1/0", err: "not a number of shares"},
		{in: "1/x", err: "not a number of shares"},
		{in: "/4", err: `"" is not a share number`},
		{in: "-1/4", err: `"-1" is not a share number`},
		{in: "+1/4", err: `"+1" is not a share number`},
		{in: " 1/4", err: "not a share number"},
		{in: "3-1/4", err: "runs backwards"},
		{in: "2,1/4", err: "increasing order"},
		{in: "1,1/4", err: "increasing order"},
		{in: "0-2,2/4", err: "increasing order"},
		{in: "1/99999999999999999999", err: "not a number of shares"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			c, err := ParseCoverage(tt.in)
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
				assert.Contains(t, err.Error(), tt.in, "the error quotes the segment")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.out, c.String())
			assert.Equal(t, tt.missing == "", c.Complete())
			if tt.missing != "" {
				assert.Equal(t, tt.missing, c.Missing().String())
			}
			again, err := ParseCoverage(c.String())
			require.NoError(t, err)
			assert.Equal(t, c.String(), again.String(), "String parses back")
		})
	}
}
