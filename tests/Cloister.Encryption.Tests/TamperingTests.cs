using Cloister.Encryption.Ciphertexts;
using Cloister.Encryption.Keys;

namespace Cloister.Encryption.Tests;

/// <summary>Every bit of a short ciphertext flipped, one at a time: each fails, with the reason its field gives.</summary>
public sealed class TamperingTests
{
    [Theory]
    [InlineData(CiphertextAlgorithm.DataKey)]
    [InlineData(CiphertextAlgorithm.PublicKey)]
    public void Each_flipped_bit_fails_with_the_reason_of_its_field(CiphertextAlgorithm algorithm)
    {
        using var ring = TestKeys.NewRing();
        var ciphertext = TestKeys.Encrypt(ring, algorithm, "4111"u8, PlaintextKind.String);
        using var decryptor = ring.CreateDecryptor();
        var destination = new byte[ciphertext.Length];
        var failures = new List<string>();
        for (var at = 0; at < ciphertext.Length; at++)
        {
            for (var bit = 0; bit < 8; bit++)
            {
                var tampered = (byte[])ciphertext.Clone();
                tampered[at] ^= (byte)(1 << bit);
                var expected = Expected(at, tampered[at]);
                try
                {
                    decryptor.Decrypt(tampered, destination, out _);
                    failures.Add($"byte {at} bit {bit}: decrypted");
                }
                catch (CiphertextException ex) when (ex.Failure == expected)
                {
                    Assert.Equal(new byte[destination.Length], destination);
                }
                catch (CiphertextException ex)
                {
                    failures.Add($"byte {at} bit {bit}: {ex.Failure}, not {expected} ({ex.Message})");
                }
            }
        }

        Assert.Empty(failures);
        Assert.Equal("4111"u8.ToArray(), decryptor.Decrypt(ciphertext, out _));
    }

    [Theory]
    [InlineData(CiphertextAlgorithm.DataKey)]
    [InlineData(CiphertextAlgorithm.PublicKey)]
    public void Every_byte_value_of_the_version_algorithm_and_kind_fails_but_the_right_one(CiphertextAlgorithm algorithm)
    {
        using var ring = TestKeys.NewRing();
        var ciphertext = TestKeys.Encrypt(ring, algorithm, "4111"u8, PlaintextKind.Number);
        using var decryptor = ring.CreateDecryptor();
        for (var value = 0; value < 256; value++)
        {
            for (var at = 0; at < 3; at++)
            {
                if (value == ciphertext[at])
                {
                    continue;
                }

                var tampered = (byte[])ciphertext.Clone();
                tampered[at] = (byte)value;
                var ex = Assert.Throws<CiphertextException>(() => decryptor.Decrypt(tampered, out _));
                var expected = at switch
                {
                    0 => [CiphertextFailure.UnsupportedVersion],
                    1 when value is 1 or 2 => [CiphertextFailure.Malformed, CiphertextFailure.Tampered],
                    1 => [CiphertextFailure.UnsupportedAlgorithm],
                    _ when value <= 3 => [CiphertextFailure.Tampered],
                    _ => new[] { CiphertextFailure.UnsupportedKind },
                };
                Assert.Contains(ex.Failure, expected);
            }
        }
    }

    [Fact]
    public void A_data_key_ciphertext_relabelled_public_key_is_malformed_when_short_and_tampered_when_long()
    {
        using var ring = TestKeys.NewRing();
        var shortOne = TestKeys.Encrypt(ring, CiphertextAlgorithm.DataKey, "4111"u8, PlaintextKind.String);
        shortOne[1] = (byte)CiphertextAlgorithm.PublicKey;
        Assert.Equal(CiphertextFailure.Malformed, TestKeys.DecryptFails(ring, shortOne).Failure);

        var longOne = TestKeys.Encrypt(ring, CiphertextAlgorithm.DataKey, new byte[200], PlaintextKind.String);
        longOne[1] = (byte)CiphertextAlgorithm.PublicKey;
        Assert.Equal(CiphertextFailure.Tampered, TestKeys.DecryptFails(ring, longOne).Failure);

        var publicOne = TestKeys.Encrypt(ring, CiphertextAlgorithm.PublicKey, "4111"u8, PlaintextKind.String);
        publicOne[1] = (byte)CiphertextAlgorithm.DataKey;
        Assert.Equal(CiphertextFailure.Tampered, TestKeys.DecryptFails(ring, publicOne).Failure);
    }

    [Fact]
    public void A_public_key_ciphertext_whose_sender_point_is_the_generator_or_off_the_curve_is_tampered()
    {
        using var ring = TestKeys.NewRing();
        var ciphertext = TestKeys.Encrypt(ring, CiphertextAlgorithm.PublicKey, "4111"u8, PlaintextKind.String);
        var zeroPoint = (byte[])ciphertext.Clone();
        Array.Clear(zeroPoint, 16, 96);
        Assert.Equal(CiphertextFailure.Tampered, TestKeys.DecryptFails(ring, zeroPoint).Failure);
        var ones = (byte[])ciphertext.Clone();
        Array.Fill(ones, (byte)0xff, 16, 96);
        Assert.Equal(CiphertextFailure.Tampered, TestKeys.DecryptFails(ring, ones).Failure);
        var compressed = (byte[])ciphertext.Clone();
        compressed[15] = 0x02;
        Assert.Equal(CiphertextFailure.Tampered, TestKeys.DecryptFails(ring, compressed).Failure);
    }

    [Fact]
    public void A_ciphertext_of_another_deployment_key_id_is_refused_before_any_key_is_tried()
    {
        using var ring = TestKeys.NewRing();
        var ciphertext = TestKeys.Encrypt(ring, CiphertextAlgorithm.DataKey, "4111"u8, PlaintextKind.String);
        var other = new DeploymentKeyId(ring.KeyId.Value ^ 1);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(ciphertext.AsSpan(3), other.Value);
        var ex = TestKeys.DecryptFails(ring, ciphertext);
        Assert.Equal(CiphertextFailure.OtherDeployment, ex.Failure);
        Assert.Contains(other.ToString(), ex.Message, StringComparison.Ordinal);
    }

    private static CiphertextFailure Expected(int at, byte value) => at switch
    {
        0 => CiphertextFailure.UnsupportedVersion,
        // One bit never turns one algorithm (1, 2) into the other.
        1 => CiphertextFailure.UnsupportedAlgorithm,
        // The kind is authenticated: another kind of the format fails the tag, a value outside it fails first.
        2 => value <= (byte)PlaintextKind.Boolean ? CiphertextFailure.Tampered : CiphertextFailure.UnsupportedKind,
        < 11 => CiphertextFailure.OtherDeployment,
        < 15 => CiphertextFailure.UnknownKeyVersion,
        // Material (salt or sender point), nonce, body and tag.
        _ => CiphertextFailure.Tampered,
    };
}
