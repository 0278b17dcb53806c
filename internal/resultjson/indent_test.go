package resultjson

import (
	"bufio"
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func indented(t *testing.T, compact string) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, indentJSON(bufio.NewWriter(&b), []byte(compact)))
	return b.String()
}

// indentJSON indents as json.Indent does, but for arrays without objects,
// which stay compact on one line.
func TestIndentJSON(t *testing.T) {
	for _, in := range []string{
		`{"a":1,"b":"x","c":{"d":true,"e":null},"f":[{"g":1},{"h":{}}],"i":{},"j":[]}`,
		`{"k\"[{":"v,:]}","l":[{"m":"\\"}]}`,
		`[]`, `{}`, `[{}]`, `"s"`,
	} {
		var want bytes.Buffer
		require.NoError(t, json.Indent(&want, []byte(in), "", "  "))
		assert.Equal(t, want.String(), indented(t, in), in)
	}
	for _, tt := range []struct{ in, want string }{
		{`{"buckets":[[1,2],[3,4]]}`, "{\n  \"buckets\": [[1,2],[3,4]]\n}"},
		{`{"a":["x]","y,{"],"b":[1,[2,[3]]]}`, "{\n  \"a\": [\"x]\",\"y,{\"],\n  \"b\": [1,[2,[3]]]\n}"},
		{`[[1],{"c":[]}]`, "[\n  [1],\n  {\n    \"c\": []\n  }\n]"},
	} {
		assert.Equal(t, tt.want, indented(t, tt.in), tt.in)
		assert.True(t, json.Valid([]byte(indented(t, tt.in))))
	}
}

func TestJSONBuckets(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Buckets
		err  bool
	}{
		{in: `[[1,2],[300,4]]`, want: Buckets{{1, 2}, {300, 4}}},
		{in: " [ [ 1 , 2 ] ,\n [3,4] ] ", want: Buckets{{1, 2}, {3, 4}}},
		{in: `[]`, want: Buckets{}},
		{in: `null`, want: nil},
		{in: `[[-1,2]]`, want: Buckets{{-1, 2}}}, // ReadResult rejects it as out of range
		{in: `[[1,2]`, err: true},
		{in: `[[1,2,3]]`, err: true},
		{in: `[1,2]`, err: true},
		{in: `[[1,"2"]]`, err: true},
		{in: `[[1,2],]`, err: true},
		{in: `[[1,2]] x`, err: true},
		{in: `[[1.5,2]]`, err: true},
		{in: `[[99999999999999999999,2]]`, err: true},
		{in: `{}`, err: true},
	} {
		var got Buckets
		err := got.UnmarshalJSON([]byte(tt.in))
		if tt.err {
			assert.ErrorContains(t, err, "want [[index, count], ...]", tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
		if got != nil {
			out, err := got.MarshalJSON()
			require.NoError(t, err)
			var back [][2]int64
			require.NoError(t, json.Unmarshal(out, &back))
			assert.Equal(t, [][2]int64(got), back, "written as JSON reads it")
		}
	}
}
