package io.lccheckpoint.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** Per-tensor options travel as {@link CodecOptions#describe()} and are written by users in a short form. */
class CodecOptionsTest {

    @Test
    void describeAndParseRoundTripAndMissingKeysComeFromTheBase() {
        CodecOptions options = new CodecOptions(5, EntropyMode.ZERO_RUN, true);
        assertThat(CodecOptions.parse(options.describe(), CodecOptions.paper(2))).isEqualTo(options);
        assertThat(CodecOptions.parse("bits=3", CodecOptions.zeroRun(2))).isEqualTo(CodecOptions.zeroRun(3));
        assertThat(CodecOptions.parse(" entropy = huffman , bits=8", CodecOptions.zeroRun(2))).isEqualTo(CodecOptions.paper(8));
    }

    @Test
    void wrongKeysAndValuesAreNamed() {
        CodecOptions base = CodecOptions.paper(2);
        assertThatThrownBy(() -> CodecOptions.parse("bits=9", base)).hasMessageContaining("'bits=9'").hasMessageContaining("promotionBits");
        assertThatThrownBy(() -> CodecOptions.parse("bitz=3", base)).hasMessageContaining("unknown key 'bitz'");
        assertThatThrownBy(() -> CodecOptions.parse("entropy=lzma", base)).hasMessageContaining("entropy=lzma is not huffman or zero_run");
        assertThatThrownBy(() -> CodecOptions.parse("bits", base)).hasMessageContaining("is not key=value");
        assertThatThrownBy(() -> CodecOptions.parse("bits=0,entropy=zero_run", base)).hasMessageContaining("zero-run coding needs a zero bucket");
        assertThatThrownBy(() -> CodecOptions.parse("reuse=yes", base)).hasMessageContaining("reuse=yes is not true or false");
    }
}
