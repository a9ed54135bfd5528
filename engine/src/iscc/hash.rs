//! The two similarity-preserving digests behind the ISCC units: SimHash (Meta-Code) and a 64-way
//! MinHash compressed to 256 bits (Text-Code, Data-Code); iscc-core's `simhash.py` and `minhash.py`.

/// Multipliers of the 64 universal hash permutations `(a·f + b) mod (2^61 − 1)` of the ISCC MinHash.
/// Specification data: the `MPA` table of ISO 24138 as published in iscc-core (`minhash.py`).
const MPA: [u64; 64] = [
    853_146_490_016_488_653,
    1_849_332_765_672_628_665,
    1_131_688_930_666_554_379,
    1_936_485_333_668_353_377,
    890_837_126_813_020_267,
    1_988_249_303_247_129_861,
    1_408_894_512_544_874_755,
    2_140_251_716_176_616_185,
    1_755_124_413_189_049_421,
    1_355_916_793_659_431_597,
    546_586_563_822_844_083,
    497_603_761_441_203_021,
    2_000_709_902_557_454_173,
    1_057_597_903_350_092_207,
    1_576_204_252_850_880_253,
    2_078_784_234_495_706_739,
    1_022_616_668_454_863_635,
    2_150_082_342_606_334_489,
    712_341_150_087_765_807,
    1_511_757_510_246_096_559,
    1_525_853_819_909_660_573,
    1_263_771_796_138_990_131,
    1_215_963_627_200_985_263,
    590_069_150_281_426_443,
    130_824_646_248_385_081,
    962_725_325_544_728_503,
    1_702_561_325_943_522_847,
    296_074_222_435_072_629,
    490_211_158_716_051_523,
    1_255_327_197_241_792_767,
    699_458_998_727_907_367,
    32_930_168_991_409_845,
    1_985_097_843_455_124_585,
    362_027_841_570_125_531,
    1_903_252_144_040_897_835,
    900_391_845_076_405_289,
    547_470_123_601_853_551,
    1_689_373_724_032_359_119,
    845_594_231_933_442_371,
    400_331_968_021_206_285,
    174_967_108_345_233_429,
    876_513_700_861_085_019,
    505_848_386_844_809_885,
    1_920_468_508_342_256_199,
    1_292_611_725_303_815_789,
    963_317_239_501_343_903,
    1_730_880_032_297_268_007,
    284_614_929_850_059_717,
    1_185_026_248_283_273_081,
    2_167_288_823_816_985_197,
    1_214_905_315_086_686_483,
    1_555_253_098_157_439_857,
    1_048_013_650_291_539_723,
    1_238_618_594_841_147_605,
    1_213_502_582_686_547_311,
    286_300_733_803_129_311,
    1_250_358_511_639_043_529,
    407_534_797_452_854_371,
    960_869_149_538_623_787,
    1_722_699_901_467_253_087,
    1_325_704_236_119_824_319,
    196_979_859_428_570_839,
    1_669_408_735_473_259_699,
    781_336_617_016_068_757,
];

/// Offsets of the 64 MinHash permutations: the `MPB` table of ISO 24138 (iscc-core `minhash.py`).
const MPB: [u64; 64] = [
    1_089_606_993_368_836_715,
    726_972_438_868_274_737,
    66_204_585_613_901_025,
    1_078_410_179_646_709_132,
    1_343_470_117_098_523_467,
    698_653_121_981_343_911,
    1_248_486_536_592_473_639,
    1_447_963_007_834_012_793,
    1_034_598_851_883_537_815,
    1_474_008_409_379_745_934,
    793_773_480_906_057_541,
    980_501_101_461_882_479,
    963_941_556_313_537_655,
    233_651_787_311_327_325,
    243_905_121_737_149_907,
    570_269_452_476_776_142,
    297_633_284_648_631_084,
    1_516_796_967_247_398_557,
    1_494_795_672_066_692_649,
    1_728_741_177_365_151_059,
    1_029_197_538_967_983_408,
    1_660_732_464_170_610_344,
    1_399_769_594_446_678_069,
    506_465_470_557_005_705,
    1_279_720_146_829_545_181,
    860_096_419_955_634_036,
    411_519_685_280_832_908,
    69_539_191_273_403_207,
    1_960_489_729_088_056_217,
    605_092_075_716_397_684,
    1_017_496_016_211_653_149,
    1_304_834_535_101_321_372,
    949_013_511_180_032_347,
    1_142_776_242_221_098_779,
    576_980_004_709_031_232,
    1_071_272_177_143_100_544,
    1_494_527_341_093_835_499,
    1_073_290_814_142_727_850,
    1_285_904_200_674_942_617,
    1_277_176_606_329_477_335,
    343_788_427_301_735_585,
    2_100_915_269_685_487_331,
    1_227_711_252_031_557_450,
    18_593_166_391_963_377,
    2_101_884_148_332_688_233,
    191_808_277_534_686_888,
    2_170_124_912_729_392_024,
    918_430_470_748_151_293,
    1_831_024_560_113_812_361,
    1_951_365_515_851_067_694,
    744_352_348_473_654_499,
    1_921_518_311_887_826_722,
    2_020_165_648_600_700_886,
    1_764_930_142_256_726_985,
    1_903_893_374_912_839_788,
    1_449_378_957_774_802_122,
    1_435_825_328_374_066_345,
    833_197_549_717_762_813,
    2_238_991_044_337_210_799,
    748_955_638_857_938_366,
    1_834_583_747_494_146_901,
    222_012_292_803_592_982,
    901_238_460_725_547_841,
    1_501_611_130_776_083_278,
];

/// The Mersenne prime 2^61 − 1 the permutations reduce by.
const MERSENNE_61: u64 = (1 << 61) - 1;

/// `x mod (2^61 − 1)` without a division: 2^61 ≡ 1, so the high bits fold onto the low ones. For any
/// 64-bit `x` one fold leaves at most 2^61 + 6, so one conditional subtraction finishes it.
#[inline]
fn mod_mersenne61(x: u64) -> u64 {
    let folded = (x & MERSENNE_61) + (x >> 61);
    if folded >= MERSENNE_61 {
        folded - MERSENNE_61
    } else {
        folded
    }
}

/// The 256-bit MinHash digest of 32-bit features (iscc-core `alg_minhash_256`).
///
/// For each permutation the minimum over all features of `((a·f + b) mod 2^64) mod (2^61 − 1)`, kept to
/// its low 32 bits; the digest is bit 0 of all 64 minima, then bit 1, bit 2 and bit 3, most significant
/// bit first. With no features every minimum is `u32::MAX`, as iscc-core's would be if it allowed it.
pub(crate) fn minhash_256(features: &[u32]) -> [u8; 32] {
    let mut minima = [u64::from(u32::MAX); 64];
    for &feature in features {
        let f = u64::from(feature);
        for ((min, &a), &b) in minima.iter_mut().zip(&MPA).zip(&MPB) {
            // The wrapping multiply-add is the reference's `& MAXI64` on an unbounded integer.
            let h = mod_mersenne61(a.wrapping_mul(f).wrapping_add(b)) & 0xFFFF_FFFF;
            *min = (*min).min(h);
        }
    }
    let mut digest = [0u8; 32];
    for bitpos in 0..4 {
        for (j, &min) in minima.iter().enumerate() {
            if (min >> bitpos) & 1 == 1 {
                let k = bitpos * 64 + j;
                digest[k / 8] |= 0x80 >> (k % 8);
            }
        }
    }
    digest
}

/// SimHash of equally long digests (iscc-core `alg_simhash`): bit `i` of the result is set when at
/// least half of the digests have bit `i` set (bits counted most significant first).
pub(crate) fn simhash<const N: usize>(digests: &[[u8; N]]) -> [u8; N] {
    let mut counts = vec![0usize; N * 8];
    for digest in digests {
        for (i, count) in counts.iter_mut().enumerate() {
            *count += usize::from((digest[i / 8] >> (7 - i % 8)) & 1);
        }
    }
    let mut out = [0u8; N];
    for (i, &count) in counts.iter().enumerate() {
        // `count >= n / 2` in the reference's floating point is `2 * count >= n` in integers.
        if 2 * count >= digests.len() {
            out[i / 8] |= 0x80 >> (i % 8);
        }
    }
    out
}

/// BLAKE3 of `bytes` as a multihash in hex (iscc-core `multi_hash_blake3`).
pub(crate) fn multihash_blake3(bytes: &[u8]) -> String {
    multihash_hex(&blake3::hash(bytes))
}

/// A BLAKE3 digest as a multihash in hex: `1e` (the BLAKE3 code), `20` (32 bytes), then the digest.
pub(crate) fn multihash_hex(hash: &blake3::Hash) -> String {
    format!("1e20{}", hash.to_hex())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn mersenne_fold_is_a_modulo(x in any::<u64>()) {
            prop_assert_eq!(mod_mersenne61(x), x % MERSENNE_61);
        }
    }

    #[test]
    fn mersenne_fold_edges() {
        for x in [0, MERSENNE_61 - 1, MERSENNE_61, MERSENNE_61 + 1, u64::MAX, u64::MAX - 7] {
            assert_eq!(mod_mersenne61(x), x % MERSENNE_61, "{x}");
        }
    }

    #[test]
    fn simhash_takes_the_majority_with_ties_set() {
        assert_eq!(simhash(&[[0b1100_0000], [0b1000_0000]]), [0b1100_0000]);
        assert_eq!(simhash(&[[0b1000_0000], [0], [0]]), [0]);
        assert_eq!(simhash(&[[0xAB; 4]]), [0xAB; 4]);
    }
}
