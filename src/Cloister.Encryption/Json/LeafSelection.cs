namespace Cloister.Encryption.Json;

/// <summary>Which leaves of a JSON document <see cref="JsonLeafCipher.Encrypt"/> encrypts.</summary>
public enum LeafSelection
{
    /// <summary>String values only (the default): numbers, booleans and nulls stay as they are.</summary>
    Strings,

    /// <summary>Strings, numbers and booleans; each becomes a ciphertext string that decrypts back to its own kind.</summary>
    All,
}
