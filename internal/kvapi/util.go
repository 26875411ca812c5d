package kvapi

import "encoding/json"

// remarshal converts a decoded JSON object into a typed struct.
func remarshal(in map[string]any, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}
