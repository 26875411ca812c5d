// The Node.js app of the managed identity scenarios: seed code, unchanged. It reads a secret from
// https://<vault>.vault.azure.net with the SDK's managed identity credential (naming AZURE_CLIENT_ID's identity
// when it is set) and prints it. The runner it runs under supplies the identity endpoint, the proxy and the CA.
//
//   node kvread.js <vault> <secret>
const { ManagedIdentityCredential } = require("@azure/identity");
const { SecretClient } = require("@azure/keyvault-secrets");

const [vault, name] = process.argv.slice(2);
const credential = process.env.AZURE_CLIENT_ID
  ? new ManagedIdentityCredential(process.env.AZURE_CLIENT_ID)
  : new ManagedIdentityCredential();
const client = new SecretClient(`https://${vault}.vault.azure.net`, credential);

client
  .getSecret(name)
  .then((secret) => console.log(secret.value))
  .catch((err) => {
    console.error(err.message);
    process.exit(3);
  });
