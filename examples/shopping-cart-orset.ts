// Two devices share a shopping cart as an add-wins observed-remove set (ORSet). They go
// offline, edit the cart concurrently, then meet again and merge. Run: npx tsx examples/shopping-cart-orset.ts
import { decodeCrdt, encodeCrdt, merge, ORSet, replicaId } from '@concord/crdt';

const phone = replicaId('phone');
const laptop = replicaId('laptop');

// Both start from the same cart.
const onPhone = ORSet.empty();
onPhone.add(phone, 'milk');
onPhone.add(phone, 'bread');
onPhone.add(phone, 'eggs');
const onLaptop = onPhone.clone();
console.log('shared cart:        ', onPhone.value().join(', '));

// Apart: the phone removes eggs and bread; the laptop adds coffee and, concurrently, re-adds
// bread (it did not see the removal).
onPhone.remove('eggs');
onPhone.remove('bread');
onLaptop.add(laptop, 'coffee');
onLaptop.add(laptop, 'bread');
console.log('phone while apart:  ', onPhone.value().join(', '));
console.log('laptop while apart: ', onLaptop.value().join(', '));

// They meet: each sends its state over the wire (the binary codec) and joins the other's.
const fromLaptop = decodeCrdt(encodeCrdt(onLaptop), ORSet);
const fromPhone = decodeCrdt(encodeCrdt(onPhone), ORSet);
onPhone.join(fromLaptop);
onLaptop.join(fromPhone);
console.log('phone after merge:  ', onPhone.value().join(', '));
console.log('laptop after merge: ', onLaptop.value().join(', '));
console.log(
  'converged:',
  onPhone.equals(onLaptop),
  '| same as merge(a, b):',
  merge(onPhone, onLaptop).equals(onPhone),
);
// eggs: removed, nobody re-added it -> gone. bread: the laptop's concurrent add wins -> kept.
