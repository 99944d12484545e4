namespace Cloister.Build.Eif;

/// <summary>
/// Joins two CRC-32/ISO-HDLC values as if their inputs had been hashed back to back (zlib's <c>crc32_combine</c>).
/// The EIF CRC covers the header before the sections, but the header's section table is only final once the
/// signature (whose encoded size depends on random ECDSA bytes) exists; combining lets the sections be
/// CRC'd while they stream past and the header last, in one pass.
/// </summary>
internal static class Crc32Combination
{
    private const uint ReflectedPolynomial = 0xEDB88320;

    // X2nTable[k] = x^(2^k) modulo the CRC polynomial, in the reflected bit order the CRC uses.
    private static readonly uint[] X2nTable = CreateTable();

    /// <summary>The CRC of <c>A ‖ B</c> from the CRC of A, the CRC of B and the length of B.</summary>
    public static uint Combine(uint crcA, uint crcB, long lengthB) => MultiplyModP(PowerOfX(lengthB, 3), crcA) ^ crcB;

    private static uint MultiplyModP(uint a, uint b)
    {
        var m = 1u << 31;
        var product = 0u;
        while (true)
        {
            if ((a & m) != 0)
            {
                product ^= b;
                if ((a & (m - 1)) == 0)
                {
                    return product;
                }
            }

            m >>= 1;
            b = (b & 1) != 0 ? (b >> 1) ^ ReflectedPolynomial : b >> 1;
        }
    }

    // x^(n * 2^k) modulo the polynomial; with k = 3 this is the shift by n bytes.
    private static uint PowerOfX(long n, int k)
    {
        var p = 1u << 31;
        while (n != 0)
        {
            if ((n & 1) != 0)
            {
                p = MultiplyModP(X2nTable[k & 31], p);
            }

            n >>= 1;
            k++;
        }

        return p;
    }

    private static uint[] CreateTable()
    {
        var table = new uint[32];
        var p = 1u << 30;
        for (var k = 0; k < table.Length; k++)
        {
            table[k] = p;
            p = MultiplyModP(p, p);
        }

        return table;
    }
}
