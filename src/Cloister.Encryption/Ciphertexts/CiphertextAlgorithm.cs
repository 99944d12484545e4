namespace Cloister.Encryption.Ciphertexts;

/// <summary>How a ciphertext's AES-256-GCM key was made.</summary>
public enum CiphertextAlgorithm : byte
{
    /// <summary>
    /// From the deployment's data key (held only by its enclaves): HKDF-SHA-384 of the data key with the ciphertext's
    /// 16-byte salt. What the enclave's <c>/encrypt</c> makes.
    /// </summary>
    DataKey = 1,

    /// <summary>
    /// From the deployment's public key: ECDH P-384 with the sender's ephemeral key (its 97-byte point in the
    /// ciphertext), then HKDF-SHA-384. What <c>cloister encrypt</c> and <c>Encryptor</c> make outside.
    /// </summary>
    PublicKey = 2,
}
