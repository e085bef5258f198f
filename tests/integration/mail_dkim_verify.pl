#!/usr/bin/perl
# The second DKIM verifier of test_dkim.py: Mail::DKIM (Debian libmail-dkim-perl), independent
# of dkimpy. Reads a message on standard input and verifies its DKIM signature with the key
# record given as a zone-file line (what `postern dkim keygen` prints) in the file named by
# the first argument: DNS is answered from that line only, never from the network.
# Prints "RESULT DETAIL" (e.g. "pass", "fail (body has been altered)") and exits 0.
use strict;
use warnings;
use Mail::DKIM::Verifier;
use Mail::DKIM::DNS;
use Net::DNS;

package LineResolver;
# Answers exactly the owner name of the zone line; everything else is NXDOMAIN.
sub new {
    my ( $class, $line ) = @_;
    my $rr = Net::DNS::RR->new($line);
    return bless { rr => $rr, error => 'NOERROR' }, $class;
}
sub send {
    my ( $self, $domain, $type ) = @_;
    my $packet = Net::DNS::Packet->new( $domain, $type );
    my $owner = lc $self->{rr}->owner;
    ( my $asked = lc $domain ) =~ s/\.$//;
    $owner =~ s/\.$//;
    if ( $asked eq $owner && uc $type eq uc $self->{rr}->type ) {
        $packet->header->rcode('NOERROR');
        $packet->push( answer => $self->{rr} );
    }
    else {
        $packet->header->rcode('NXDOMAIN');
    }
    return $packet;
}
sub errorstring { return $_[0]->{error} }

package main;

open( my $fh, '<', $ARGV[0] ) or die "cannot read $ARGV[0]: $!";
my $line = do { local $/; <$fh> };
close $fh;
$line =~ s/\s+$//;
Mail::DKIM::DNS::resolver( LineResolver->new($line) );

binmode STDIN;
my $dkim = Mail::DKIM::Verifier->new();
while (<STDIN>) {
    s/\r?\n\z/\r\n/;    # the stored copy has LF line ends; DKIM hashes CRLF
    $dkim->PRINT($_);
}
$dkim->CLOSE;
print $dkim->result, ( $dkim->result_detail ne $dkim->result ? " " . $dkim->result_detail : "" ), "\n";
